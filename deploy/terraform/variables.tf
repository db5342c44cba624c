variable "name" {
  description = "Name of the function, queues, role and log group."
  type        = string
  default     = "loglake-ingest"
}

variable "log_bucket" {
  description = "The bucket AWS delivers logs to (it must exist; its notification configuration is managed here)."
  type        = string
}

variable "log_prefix" {
  description = "Key prefix of the logs to ingest; the function may read only below it."
  type        = string
  default     = "AWSLogs/"
}

variable "lake_bucket" {
  description = "The bucket holding the lake's warehouse (it must exist)."
  type        = string
}

variable "lake_prefix" {
  description = "Key prefix of the lake, without a trailing slash; the function may write only below it."
  type        = string
  default     = "loglake"
}

variable "image_uri" {
  description = "Container image of the function (see README: the dependencies exceed a zip's 250 MB). Set this or lambda_zip."
  type        = string
  default     = null
}

variable "lambda_zip" {
  description = "A zip of loglake and its dependencies, for a trimmed build that fits Lambda's 250 MB. Set this or image_uri."
  type        = string
  default     = null
}

variable "architecture" {
  description = "x86_64 or arm64: must match the wheels in the image or zip."
  type        = string
  default     = "x86_64"
}

variable "memory_mb" {
  description = "Function memory (vCPU grows with it; parsing and Parquet writing are CPU-bound)."
  type        = number
  default     = 2048
}

variable "timeout_seconds" {
  description = "Function timeout; the queue's visibility timeout is six times this, as AWS advises."
  type        = number
  default     = 300
}

variable "batch_size" {
  description = "S3 notifications per invocation (more per invocation: fewer, larger commits)."
  type        = number
  default     = 10
}

variable "batching_window_seconds" {
  description = "How long the queue gathers notifications before invoking."
  type        = number
  default     = 30
}

variable "max_concurrency" {
  description = "At most this many invocations at once (each commits to the tables; fewer writers, fewer retried commits)."
  type        = number
  default     = 5
}

variable "max_receive_count" {
  description = "Deliveries of a notification before it goes to the dead-letter queue."
  type        = number
  default     = 5
}

variable "log_kms_key_arn" {
  description = "KMS key the log bucket encrypts with (SSE-KMS), if any: the function may decrypt with it."
  type        = string
  default     = null
}

variable "lake_kms_key_arn" {
  description = "KMS key the lake bucket encrypts with (SSE-KMS), if any: the function may encrypt and decrypt with it."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the function's own log group."
  type        = number
  default     = 30
}

variable "environment" {
  description = "Further settings for the function (e.g. LOGLAKE_VPC_FORMAT)."
  type        = map(string)
  default     = {}
}
