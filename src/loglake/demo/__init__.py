"""A synthetic AWS estate (AnyCompany) and its raw logs, in AWS's native formats and S3 key layout.

`generate_raw_logs(out)` writes, with a day/night rhythm and an attack on the last day: CloudTrail (log and
digest files), VPC flow logs, the public web stack's logs (ALB access and connection logs, CloudFront
standard logs, AWS WAF logs, API Gateway access logs through CloudWatch Logs and Firehose), the sensitive
bucket's S3 server access logs and Route 53 Resolver query logs, all telling the same story; the returned
`DemoManifest` says what was written and the attack's facts.
"""

from loglake.demo.generate import DemoManifest, generate_raw_logs

__all__ = ["DemoManifest", "generate_raw_logs"]
