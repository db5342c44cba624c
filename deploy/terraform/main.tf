# S3 log bucket --notification--> SQS queue (dead-letter queue after max_receive_count) --> Lambda --> lake on S3
# with the Glue catalog. The function may read only the log prefix, write only the lake prefix and touch only
# the loglake Glue database.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  # the Glue database loglake's tables live in (the lake's namespace)
  glue_database = "loglake"
  account       = data.aws_caller_identity.current.account_id
  partition     = data.aws_partition.current.partition
  region        = data.aws_region.current.name
  log_bucket    = "arn:${local.partition}:s3:::${var.log_bucket}"
  lake_bucket   = "arn:${local.partition}:s3:::${var.lake_bucket}"
  glue          = "arn:${local.partition}:glue:${local.region}:${local.account}"
}

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.name}-dlq"
  message_retention_seconds = 1209600 # 14 days, the most SQS keeps: time to look at what failed
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "notifications" {
  name                       = var.name
  visibility_timeout_seconds = 6 * var.timeout_seconds
  message_retention_seconds  = 345600 # 4 days
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.max_receive_count
  })
}

# Only the log bucket, in this account, may send to the queue.
resource "aws_sqs_queue_policy" "notifications" {
  queue_url = aws_sqs_queue.notifications.id
  policy    = data.aws_iam_policy_document.queue.json
}

data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "LogBucketNotifications"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.notifications.arn]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.log_bucket]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_s3_bucket_notification" "logs" {
  bucket = var.log_bucket
  queue {
    queue_arn     = aws_sqs_queue.notifications.arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = var.log_prefix
  }
  depends_on = [aws_sqs_queue_policy.notifications]
}

resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_iam_role" "function" {
  name = var.name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "function" {
  name   = var.name
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }
  statement {
    sid       = "OwnQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [aws_sqs_queue.notifications.arn]
  }
  statement {
    sid       = "ReadLogs" # GetObject also allows HeadObject
    actions   = ["s3:GetObject"]
    resources = ["${local.log_bucket}/${var.log_prefix}*"]
  }
  statement {
    sid       = "WriteLake" # data and table metadata files are only ever added
    actions   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.lake_bucket}/${var.lake_prefix}/*"]
  }
  statement {
    sid       = "ListLake"
    actions   = ["s3:ListBucket"]
    resources = [local.lake_bucket]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.lake_prefix}/*"]
    }
  }
  statement {
    sid = "LakeCatalog" # the tables of the loglake database, created and committed to by the function
    actions = [
      "glue:GetDatabase", "glue:CreateDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable",
      "glue:UpdateTable",
    ]
    resources = [
      "${local.glue}:catalog",
      "${local.glue}:database/${local.glue_database}",
      "${local.glue}:table/${local.glue_database}/*",
    ]
  }
  dynamic "statement" {
    for_each = var.log_kms_key_arn == null ? [] : [var.log_kms_key_arn]
    content {
      sid       = "DecryptLogs"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
  dynamic "statement" {
    for_each = var.lake_kms_key_arn == null ? [] : [var.lake_kms_key_arn]
    content {
      sid       = "EncryptLake"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }
}

resource "aws_glue_catalog_database" "lake" {
  name        = local.glue_database
  description = "loglake tables (Iceberg), readable by Athena, Trino and Spark"
}

resource "aws_lambda_function" "ingest" {
  function_name    = var.name
  role             = aws_iam_role.function.arn
  package_type     = var.image_uri == null ? "Zip" : "Image"
  image_uri        = var.image_uri
  filename         = var.lambda_zip
  source_code_hash = var.lambda_zip == null ? null : filebase64sha256(var.lambda_zip)
  runtime          = var.image_uri == null ? "python3.12" : null
  handler          = var.image_uri == null ? "loglake.aws.lambda_handler" : null
  architectures    = [var.architecture]
  memory_size      = var.memory_mb
  timeout          = var.timeout_seconds
  ephemeral_storage {
    size = 2048 # the ledger and this container's copy of the lake settings live in /tmp
  }
  environment {
    variables = merge({
      LOGLAKE_LAKE      = "s3://${var.lake_bucket}/${var.lake_prefix}"
      LOGLAKE_CATALOG   = "glue"
      LOGLAKE_STATE_DIR = "/tmp/loglake"
    }, var.environment)
  }
  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]

  lifecycle {
    precondition {
      condition     = (var.image_uri == null) != (var.lambda_zip == null)
      error_message = "Set exactly one of image_uri and lambda_zip."
    }
  }
}

resource "aws_lambda_event_source_mapping" "notifications" {
  event_source_arn                   = aws_sqs_queue.notifications.arn
  function_name                      = aws_lambda_function.ingest.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"] # only failed notifications are retried
  scaling_config {
    maximum_concurrency = var.max_concurrency
  }
}
