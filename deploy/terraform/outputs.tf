output "function_name" {
  value = aws_lambda_function.ingest.function_name
}

output "function_arn" {
  value = aws_lambda_function.ingest.arn
}

output "role_arn" {
  description = "The function's role (grant it more, e.g. a bucket policy's access, here)."
  value       = aws_iam_role.function.arn
}

output "queue_url" {
  value = aws_sqs_queue.notifications.id
}

output "dead_letter_queue_url" {
  description = "Notifications that failed max_receive_count times; redrive them once the cause is fixed."
  value       = aws_sqs_queue.dead_letter.id
}

output "lake" {
  description = "The lake, as `loglake --catalog glue ... --lake` takes it."
  value       = "s3://${var.lake_bucket}/${var.lake_prefix}"
}

output "glue_database" {
  value = aws_glue_catalog_database.lake.name
}
