"""A synthetic AWS estate (AnyCompany) and its raw logs, in AWS's native formats and S3 key layout.

`generate_raw_logs(out)` writes CloudTrail (log and digest files) and VPC flow logs with a day/night rhythm
and an attack on the last day; the returned `DemoManifest` says what was written and the attack's facts.
"""

from loglake.demo.generate import DemoManifest, generate_raw_logs

__all__ = ["DemoManifest", "generate_raw_logs"]
