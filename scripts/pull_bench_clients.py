#!/usr/bin/env python3
"""The Python clients' side of `cargo bench --bench pull`: pull every issue and every record from the
simulators with pycontribs `jira` (enhanced search, every page) and `pysnow` (every table, every page), each
one page after the other as these clients page. Prints one line per tracker:
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


def pull_servicenow(url, user, token, tables):
    import pysnow

    parsed = urlparse(url)
    client = pysnow.Client(host=parsed.netloc, user=user, password=token, use_ssl=parsed.scheme == "https")
    client.parameters.limit = 500
    started = time.monotonic()
    count = 0
    for table in tables:
        resource = client.resource(api_path="/table/" + table)
        response = resource.get(query={}, stream=True)
        for _record in response.all():
            count += 1
    return count, time.monotonic() - started


def main():
    jira_url, sn_url, user, token, tables = sys.argv[1:6]
    items, seconds = pull_jira(jira_url, user, token)
    print(f"jira {items} {seconds:.2f}", flush=True)
    items, seconds = pull_servicenow(sn_url, user, token, tables.split(","))
    print(f"servicenow {items} {seconds:.2f}", flush=True)


if __name__ == "__main__":
    main()
