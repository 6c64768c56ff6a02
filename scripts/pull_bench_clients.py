#!/usr/bin/env python3
"""The Python clients' side of `cargo bench --bench pull`: pull every issue and every record from the
simulators with pycontribs `jira` (enhanced search, every page) and `pysnow` (every table, every page of
500 records by `limit` and `offset`, the fields and display mode twotrack asks for), each one page after
the other as these clients page. Prints one line per tracker:
`<tracker> <items> <seconds>`.

Usage: pull_bench_clients.py JIRA_URL SERVICENOW_URL USER TOKEN TABLE[,TABLE...]
"""

import sys
import time
from urllib.parse import urlparse

FIELDS = "summary,description,status,issuetype,project,labels,priority,reporter,resolution,components,created,updated"


def pull_jira(url, user, token):
    from jira import JIRA

    client = JIRA(server=url, basic_auth=(user, token), options={"rest_api_version": "3"})
    started = time.monotonic()
    issues = client.enhanced_search_issues(
        'project = "SHOP" ORDER BY updated ASC, key ASC', maxResults=0, fields=FIELDS, json_result=False
    )
    return len(issues), time.monotonic() - started


# What twotrack asks of every record (connectors/servicenow/src/dto.rs RECORD_FIELDS), page size and display
# mode included, so that both sides move the same bytes.
SN_FIELDS = [
    "sys_id", "number", "short_description", "description", "state", "active", "caller_id", "requested_for",
    "opened_by", "impact", "urgency", "priority", "assignment_group", "correlation_id", "correlation_display",
    "category", "contact_type", "close_code", "close_notes", "sys_created_on", "sys_updated_on",
]
SN_PAGE = 500


def pull_servicenow(url, user, token, tables):
    """Every record of every table, page by page: pysnow's `Response` reads one answer (it follows no
    `Link` header, and `get` asks for 10,000 records unless given a `limit`), so the pages are asked for with `limit` and `offset` until a short page, in the table's
    own order (nothing changes the tables while the benchmark reads them)."""
    import pysnow

    parsed = urlparse(url)
    client = pysnow.Client(host=parsed.netloc, user=user, password=token, use_ssl=parsed.scheme == "https")
    started = time.monotonic()
    count = 0
    for table in tables:
        resource = client.resource(api_path="/table/" + table)
        offset = 0
        while True:
            response = resource.get(
                query={},
                limit=SN_PAGE,
                offset=offset,
                fields=SN_FIELDS,
                display_value="all",
                exclude_reference_link=True,
                stream=True,
            )
            page = sum(1 for _record in response.all())
            count += page
            if page < SN_PAGE:
                break
            offset += SN_PAGE
    return count, time.monotonic() - started


def main():
    jira_url, sn_url, user, token, tables = sys.argv[1:6]
    items, seconds = pull_jira(jira_url, user, token)
    print(f"jira {items} {seconds:.2f}", flush=True)
    items, seconds = pull_servicenow(sn_url, user, token, tables.split(","))
    print(f"servicenow {items} {seconds:.2f}", flush=True)


if __name__ == "__main__":
    main()
