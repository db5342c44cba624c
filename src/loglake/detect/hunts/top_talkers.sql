-- Top talkers with an IP: the peers that exchanged the most bytes with it (VPC Flow Logs), by direction.
-- Parameters (DuckDB named parameters: `$name` in the SQL, `--param name=value` on the command line):
--   $ip  an IPv4 or IPv6 address as flow logs write it (e.g. 203.0.113.7)
-- Run: loglake hunt run top_talkers --param ip=203.0.113.7
-- An instance sending far more than it receives to one outside peer, or on an unusual port, is worth a look;
-- REJECT rows show who tried to reach it. service_ports are the lower port of each flow (the server's, as a
-- rule: clients use high ephemeral ports).
SELECT
    CASE WHEN srcaddr = $ip THEN dstaddr ELSE srcaddr END AS peer,
    CASE WHEN srcaddr = $ip THEN 'to peer' ELSE 'from peer' END AS direction,
    action,
    count(*) AS flows,
    sum(bytes) AS bytes,
    sum(packets) AS packets,
    list(DISTINCT least(srcport, dstport) ORDER BY least(srcport, dstport))[1:10] AS service_ports,
    min(lake_time) AS first_seen,
    max(lake_time) AS last_seen,
    string_agg(DISTINCT coalesce(instance_id, interface_id), ' ') AS interfaces
FROM vpc_flow_logs
WHERE srcaddr = $ip OR dstaddr = $ip
GROUP BY peer, direction, action
ORDER BY bytes DESC NULLS LAST, flows DESC
LIMIT 50
