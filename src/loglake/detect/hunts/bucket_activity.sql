-- Everything touching an S3 bucket: CloudTrail calls naming it and its server access log, in one timeline.
-- Parameters (DuckDB named parameters: `$name` in the SQL, `--param name=value` on the command line):
--   $bucket  the bucket's name (not its ARN)
-- Run: loglake hunt run bucket_activity --param bucket=my-data-bucket
-- Policy and ACL changes (PutBucketPolicy, PutBucketAcl, DeletePublicAccessBlock) next to mass GetObject
-- from one requester are the shape of an exfiltration.
SELECT
    lake_time,
    'cloudtrail_logs' AS lake_table,
    coalesce(useridentity.arn, useridentity.principalid) AS principal,
    sourceipaddress AS ip,
    eventname AS operation,
    json_extract_string(requestparameters, '$.key') AS key,
    coalesce(errorcode, 'OK') AS status,
    lake_file,
    lake_row
FROM cloudtrail_logs
WHERE json_extract_string(requestparameters, '$.bucketName') = $bucket
   OR len(list_filter(resources, lambda r: r.arn = 'arn:aws:s3:::' || $bucket
                                           OR starts_with(r.arn, 'arn:aws:s3:::' || $bucket || '/'))) > 0
UNION ALL
SELECT
    lake_time,
    's3_access_logs',
    requester,
    remoteip,
    operation,
    nullif(key, '-'),
    concat_ws(' ', httpstatus, nullif(errorcode, '-')),
    lake_file,
    lake_row
FROM s3_access_logs
WHERE bucket_name = $bucket
ORDER BY lake_time, lake_table, lake_file, lake_row
