"""The API guides in docs/ are examples that work: every ```sh block holding a
curl command is run, with the real curl, against the panel as `make run`
starts it (tests/support/panel_process.py), in document order on a fresh
panel, and its answer must be the ```text block under it: `HTTP <status>`,
then the JSON body ("<any>" in the body stands for any value). The README
points only at files in the repository."""

import json
import os
import re
import shlex
import shutil
import subprocess

import pytest

from support.panel_process import ROOT, PanelProcess

DOCS = ("api-basip.md", "api-redirect-rules.md")
EXAMPLE = re.compile(r"```sh\n(curl .*?)\n```\n```text\nHTTP (\d{3})\n(.*?)```", re.DOTALL)
ANY = "<any>"


def examples(name):
    with open(os.path.join(ROOT, "docs", name), encoding="utf-8") as handle:
        text = handle.read()
    found = EXAMPLE.findall(text)
    # Every curl block has its answer (none silently skipped by the pattern).
    assert len(found) == text.count("```sh\ncurl "), name
    return [(command, int(status), body.strip()) for command, status, body in found]


def matches(documented, actual):
    if documented == ANY:
        return True
    if isinstance(documented, dict):
        return (
            isinstance(actual, dict)
            and set(documented) == set(actual)
            and all(matches(documented[key], actual[key]) for key in documented)
        )
    if isinstance(documented, list):
        return (
            isinstance(actual, list)
            and len(documented) == len(actual)
            and all(matches(one, other) for one, other in zip(documented, actual))
        )
    return type(documented) is type(actual) and documented == actual


def run_curl(command, port):
    command = command.replace("\\\n", " ").replace("127.0.0.1:8080", "127.0.0.1:%d" % port)
    arguments = shlex.split(command) + ["-o", "-", "-w", "\n%{http_code}", "--max-time", "10"]
    result = subprocess.run(arguments, capture_output=True, text=True, timeout=20)
    assert result.returncode == 0, (command, result.stderr)
    body, _, status = result.stdout.rpartition("\n")
    return int(status), body


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("name", DOCS)
def test_every_curl_example_answers_as_documented(tmp_path, name):
    cases = examples(name)
    assert len(cases) >= 10
    panel = PanelProcess(tmp_path).start()
    try:
        for command, status, body in cases:
            actual_status, actual_body = run_curl(command, panel.port)
            assert actual_status == status, (command, actual_status, actual_body)
            if body:
                assert matches(json.loads(body), json.loads(actual_body)), (command, actual_body)
            else:
                assert actual_body == "", (command, actual_body)
    finally:
        panel.stop()


def test_the_readme_links_only_to_files_in_the_repository():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    local = [target for target in targets if "://" not in target]
    assert "docs/api-basip.md" in local and "docs/api-redirect-rules.md" in local
    for target in local:
        assert not target.startswith(".."), target
        assert os.path.exists(os.path.join(ROOT, target)), target
