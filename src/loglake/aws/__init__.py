"""loglake inside AWS: the Lambda handler and the events it reads.

The Lambda runtime resolves the handler string `loglake.aws.lambda_handler` as the attribute `lambda_handler`
of this package, so the (callable) handler module is imported here.
"""

from loglake.aws import lambda_handler  # noqa: F401 - the handler string's target
