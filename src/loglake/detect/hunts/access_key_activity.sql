-- Everything an access key did (its CloudTrail calls), and the calls that created, issued, changed or deleted it.
-- Parameters (DuckDB named parameters: `$name` in the SQL, `--param name=value` on the command line):
--   $key_id  an access key id: AKIA... (an IAM user's long-term key) or ASIA... (temporary, from STS)
-- Run: loglake hunt run access_key_activity --param key_id=AKIAIOSFODNN7EXAMPLE
-- A stolen key's story reads top to bottom: CreateAccessKey (or the AssumeRole that issued an ASIA key), then
-- its calls with their source IPs and user agents, errors included (AccessDenied bursts are enumeration).
SELECT
    lake_time,
    CASE WHEN useridentity.accesskeyid = $key_id THEN 'used' ELSE 'named' END AS role_of_key,
    coalesce(useridentity.arn, useridentity.principalid) AS principal,
    eventsource,
    eventname,
    errorcode,
    sourceipaddress AS ip,
    useragent,
    awsregion,
    coalesce(recipientaccountid, lake_account) AS account,
    lake_file,
    lake_row
FROM cloudtrail_logs
WHERE useridentity.accesskeyid = $key_id
   OR contains(requestparameters, $key_id)
   OR contains(responseelements, $key_id)
ORDER BY lake_time, lake_file, lake_row
