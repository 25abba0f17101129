"""The installer's web page on flash: its size gzipped (what the panel stores
and sends) against the board's budget, and raw, built as tools/build_web.py
builds it. Prints `name: value unit` lines; the budget ratio is the figure to
watch (boards/host/board.json "web_gzip_budget_bytes")."""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import build_web  # noqa: E402


def main():
    packed, manifest = build_web.build()
    with open(os.path.join(ROOT, "boards", "host", "board.json")) as handle:
        budget = json.load(handle)["web_gzip_budget_bytes"]
    with open(os.path.join(ROOT, "host", "sim_front", "page.html"), "rb") as handle:
        sim_page = len(handle.read())
    raw = manifest["assets"]["/"]["raw_bytes"]
    print("web_assets_gzip_bytes: %d bytes" % len(packed))
    print("web_assets_raw_bytes: %d bytes" % raw)
    print("web_assets_gzip_budget_bytes: %d bytes" % budget)
    print("web_assets_gzip_of_budget: %.3f ratio" % (len(packed) / budget))
    print("web_assets_gzip_of_raw: %.3f ratio" % (len(packed) / raw))
    print("sim_page_bytes: %d bytes (host only, not on flash)" % sim_page)


if __name__ == "__main__":
    main()
