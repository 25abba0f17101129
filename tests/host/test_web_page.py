"""The installer's web page as a browser fetches it from the panel process:
public, gzipped, with an ETag and a 304 on If-None-Match; built from its
sources (tools/build_web.py) and within the board's gzip budget."""

import gzip
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import build_web  # noqa: E402


def board():
    with open(os.path.join(ROOT, "boards", "host", "board.json")) as handle:
        return json.load(handle)


def test_built_page_is_current_with_its_sources():
    assert build_web.is_current(), "run python tools/build_web.py and commit the result"


def test_page_within_the_boards_gzip_budget():
    packed, manifest = build_web.build()
    budget = board()["web_gzip_budget_bytes"]
    assert budget == 49152
    assert len(packed) <= budget, "page is %d bytes gzipped, budget %d" % (len(packed), budget)
    assert manifest["assets"]["/"]["bytes"] == len(packed)


def test_page_is_public_gzipped_with_etag(panel):
    reply = panel.request("GET", "/", auth=None)
    assert reply.status == 200
    assert reply.headers["Content-Encoding"] == "gzip"
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert int(reply.headers["Content-Length"]) == len(reply.raw)
    html = gzip.decompress(reply.raw).decode()
    assert html.startswith("<!doctype html>")
    # Inlined by the build: no second request, nothing from another host.
    assert "<style>" in html and "<script>" in html
    assert "http://" not in html and "https://" not in html
    with open(os.path.join(ROOT, "firmware", "panel", "web", "manifest.json")) as handle:
        assert reply.headers["ETag"] == json.load(handle)["assets"]["/"]["etag"]


def test_if_none_match_gets_304_without_body(panel):
    etag = panel.request("GET", "/", auth=None).headers["ETag"]
    reply = panel.request("GET", "/", auth=None, headers={"If-None-Match": etag})
    assert reply.status == 304
    assert reply.raw == b""
    assert reply.headers["ETag"] == etag
    listed = panel.request("GET", "/", auth=None, headers={"If-None-Match": 'W/"x", ' + etag})
    assert listed.status == 304
    stale = panel.request("GET", "/", auth=None, headers={"If-None-Match": '"0000"'})
    assert stale.status == 200 and stale.raw


def test_page_paths_only_are_public(panel):
    assert panel.request("GET", "/index.html", auth=None).status == 200
    # The page adds no other route: its script and style are inlined.
    reply = panel.request("GET", "/app.js", auth=None)
    assert reply.status == 404
    assert reply.json == {"error": "Not found"}
    # The API behind it still wants the token.
    assert panel.request("GET", "/api/v1/forward/items", auth=None).status == 401
    assert panel.request("POST", "/", auth=None).status == 405
