"""The AWS WAF web ACL on the public ALB (`prod-ext-web-acl`): its rules, in priority order, and the verdict
they reach on a request.

  0 rate-limit-per-ip                         RATE_BASED   BLOCK an IP above 100 requests in 5 minutes
  1 AWS-AWSManagedRulesAmazonIpReputationList managed      BLOCK addresses on Amazon's threat list
  2 AWS-AWSManagedRulesCommonRuleSet          managed      LFI, XSS, bad bots, no user agent, ...
  3 AWS-AWSManagedRulesKnownBadInputsRuleSet  managed      Log4Shell, exploitable paths
  4 AWS-AWSManagedRulesSQLiRuleSet            managed      SQL injection in query arguments
  5 block-cms-and-secrets-probes              REGULAR      BLOCK /wp-*, /.env, /.git/, phpMyAdmin, ...
  6 label-static-assets                       REGULAR      COUNT + label static files (the logging filter
                                                           drops ALLOWed requests with that label)
  default action ALLOW

Only hostile requests go through `evaluate()`; the background traffic is known to be benign and takes
`ALLOW` or `ALLOW_STATIC` directly.
"""

from __future__ import annotations

from typing import NamedTuple

# managed rule groups of the web ACL, in order: (rule name in the web ACL, vendor#group id)
GROUPS = (
    ("AWS-AWSManagedRulesAmazonIpReputationList", "AWS#AWSManagedRulesAmazonIpReputationList"),
    ("AWS-AWSManagedRulesCommonRuleSet", "AWS#AWSManagedRulesCommonRuleSet"),
    ("AWS-AWSManagedRulesKnownBadInputsRuleSet", "AWS#AWSManagedRulesKnownBadInputsRuleSet"),
    ("AWS-AWSManagedRulesSQLiRuleSet", "AWS#AWSManagedRulesSQLiRuleSet"),
)
RATE_RULE = "rate-limit-per-ip"
RATE_LIMIT = 100  # requests per IP in the evaluation window
RATE_WINDOW = 300
RATE_DELAY = 30  # seconds before a rate-based rule starts blocking an address that went over
CMS_RULE = "block-cms-and-secrets-probes"
STATIC_RULE = "label-static-assets"

_LABELS = {
    "AWSManagedIPReputationList": "awswaf:managed:aws:amazon-ip-list:AWSManagedIPReputationList",
    "NoUserAgent_HEADER": "awswaf:managed:aws:core-rule-set:NoUserAgent_Header",
    "UserAgent_BadBots_HEADER": "awswaf:managed:aws:core-rule-set:BadBots_Header",
    "GenericLFI_URIPATH": "awswaf:managed:aws:core-rule-set:GenericLFI_URIPath",
    "GenericLFI_QUERYARGUMENTS": "awswaf:managed:aws:core-rule-set:GenericLFI_QueryArguments",
    "CrossSiteScripting_QUERYARGUMENTS": "awswaf:managed:aws:core-rule-set:CrossSiteScripting_QueryArguments",
    "RestrictedExtensions_URIPATH": "awswaf:managed:aws:core-rule-set:RestrictedExtensions_URIPath",
    "EC2MetaDataSSRF_QUERYARGUMENTS": "awswaf:managed:aws:core-rule-set:EC2MetaDataSSRF_QueryArguments",
    "Log4JRCE_QUERYSTRING": "awswaf:managed:aws:known-bad-inputs:Log4JRCE_QueryString",
    "Log4JRCE_HEADER": "awswaf:managed:aws:known-bad-inputs:Log4JRCE_Header",
    "ExploitablePaths_URIPATH": "awswaf:managed:aws:known-bad-inputs:ExploitablePaths_URIPath",
    "SQLi_QUERYARGUMENTS": "awswaf:managed:aws:sql-database:SQLi_QueryArguments",
}
_BAD_BOTS = ("nmap", "nessus", "nikto", "masscan")
_CMS = (
    "/wp-login.php",
    "/wp-admin",
    "/xmlrpc.php",
    "/.env",
    "/.git/",
    "/phpmyadmin",
    "/.aws/",
    "/config.php",
    "/.ds_store",
)
_RESTRICTED = (".log", ".ini", ".bak", ".sql")
_EXPLOITABLE = ("/web-inf", "/meta-inf", "/manager/html", "/actuator/env", "/cgi-bin/")
_SQLI = ("%27%20or", "'%20or", "' or", "union%20select", "union+select", "%20or%201=1", "sleep(", "%27--")
_XSS = ("%3cscript", "<script", "onerror%3d", "javascript:")


class Verdict(NamedTuple):
    """What the web ACL did with a request, in the terms of its log record."""

    action: str  # ALLOW or BLOCK
    rule_id: str  # terminatingRuleId: Default_Action, a rule name of the web ACL
    rule_type: str  # REGULAR, MANAGED_RULE_GROUP, RATE_BASED
    groups: int  # how many managed rule groups were evaluated (ruleGroupList entries)
    group_rule: str  # the rule inside the managed group that terminated, else ""
    details: tuple[tuple[str, str, tuple[str, ...]], ...]  # (conditionType, location, matchedData): SQLi, XSS
    labels: tuple[str, ...]
    counted: tuple[str, ...]  # non-terminating COUNT rules of the web ACL


def custom_label(account: str, acl: str, name: str) -> str:
    return f"awswaf:{account}:webacl:{acl}:{name}"


ALLOW = Verdict("ALLOW", "Default_Action", "REGULAR", len(GROUPS), "", (), (), ())


def allow_static(account: str, acl: str) -> Verdict:
    """A static file: allowed, counted and labelled by the labelling rule (and not logged, by the filter)."""
    return Verdict(
        "ALLOW",
        "Default_Action",
        "REGULAR",
        len(GROUPS),
        "",
        (),
        (custom_label(account, acl, "static-asset"),),
        (STATIC_RULE,),
    )


def is_static(path: str) -> bool:
    return path.startswith(("/static/", "/app/static/")) or path == "/favicon.ico"


def evaluate(
    account: str, acl: str, path: str, query: str, ua: str, *, rate_limited: bool = False, bad_reputation: bool = False
) -> Verdict:
    """The verdict of the web ACL on a request; `rate_limited` says the address is over the rate limit."""
    if rate_limited:
        return Verdict("BLOCK", RATE_RULE, "RATE_BASED", 0, "", (), (), ())
    if bad_reputation:
        return _managed(0, "AWSManagedIPReputationList")
    low_path, low_query, low_ua = path.lower(), query.lower(), ua.lower()
    if ua in ("", "-"):
        return _managed(1, "NoUserAgent_HEADER")
    if any(b in low_ua for b in _BAD_BOTS):
        return _managed(1, "UserAgent_BadBots_HEADER")
    if "../" in low_path or "..%2f" in low_path or "%2e%2e" in low_path:
        return _managed(1, "GenericLFI_URIPATH")
    if "../" in low_query or "..%2f" in low_query or "etc%2fpasswd" in low_query or "/etc/passwd" in low_query:
        return _managed(1, "GenericLFI_QUERYARGUMENTS")
    if "169.254.169.254" in low_query:
        return _managed(1, "EC2MetaDataSSRF_QUERYARGUMENTS")
    if any(x in low_query for x in _XSS):
        return _managed(1, "CrossSiteScripting_QUERYARGUMENTS", ("XSS", "QUERY_STRING", ("<script", ">")))
    if low_path.endswith(_RESTRICTED):
        return _managed(1, "RestrictedExtensions_URIPATH")
    if "${jndi:" in low_ua or "%24%7bjndi" in low_ua:
        return _managed(2, "Log4JRCE_HEADER")
    if "${jndi:" in low_query or "%24%7bjndi" in low_query:
        return _managed(2, "Log4JRCE_QUERYSTRING")
    if any(x in low_path for x in _EXPLOITABLE):
        return _managed(2, "ExploitablePaths_URIPATH")
    if any(x in low_query for x in _SQLI):
        return _managed(3, "SQLi_QUERYARGUMENTS", ("SQL_INJECTION", "QUERY_STRING", ("1", "OR", "1=1")))
    if low_path.startswith(_CMS) or any(x in low_path for x in ("/.env", "/.git/")):
        labels = (custom_label(account, acl, "cms-or-secrets-probe"),)
        return Verdict("BLOCK", CMS_RULE, "REGULAR", len(GROUPS), "", (), labels, ())
    if is_static(path):
        return allow_static(account, acl)
    return ALLOW


def _managed(group: int, rule: str, detail: tuple[str, str, tuple[str, ...]] | None = None) -> Verdict:
    name = GROUPS[group][0]
    return Verdict(
        "BLOCK", name, "MANAGED_RULE_GROUP", group + 1, rule, (detail,) if detail else (), (_LABELS[rule],), ()
    )


class RateCounter:
    """The rate-based rule's view of one address: blocks once it went over the limit (after a short delay)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.over_since: float | None = None

    def hit(self, t: float) -> bool:
        """Record a request at `t` (seconds); True when the rule blocks it."""
        times = self.times
        times.append(t)
        while times and times[0] <= t - RATE_WINDOW:
            times.pop(0)
        if len(times) > RATE_LIMIT and self.over_since is None:
            self.over_since = t
        if self.over_since is not None and len(times) <= RATE_LIMIT // 2:
            self.over_since = None
        return self.over_since is not None and t - self.over_since >= RATE_DELAY
