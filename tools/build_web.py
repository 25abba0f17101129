"""Build the installer's web page for flash: firmware/panel/web/src/ -> one
gzipped page, firmware/panel/web/index.html.gz, and manifest.json beside it
(path -> file, type, bytes, ETag) that panel/api/web_page.py serves from.

The stylesheet and the script are inlined into the page (one request from a
phone, one file on flash). Whole-line comments and indentation are dropped;
nothing else is rewritten. The output is deterministic (gzip mtime 0), and
the ETag is a hash of the page before compression, so it changes exactly when
the page does. The gzip budget is boards/host/board.json "web_gzip_budget_bytes".

    python tools/build_web.py           # write the files
    python tools/build_web.py --check   # exit 1 if they are not up to date
"""

import gzip
import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEB = os.path.join(ROOT, "firmware", "panel", "web")
SOURCE = os.path.join(WEB, "src")
PAGE_FILE = "index.html.gz"
MANIFEST_FILE = "manifest.json"
PAGE_PATHS = ("/", "/index.html")


def _read(name):
    with open(os.path.join(SOURCE, name), encoding="utf-8") as handle:
        return handle.read()


def _squeeze(text, comment):
    """Drop indentation, blank lines and whole-line comments (`comment` prefix)."""
    kept = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or (comment and stripped.startswith(comment)):
            continue
        kept.append(stripped)
    return "\n".join(kept)


def page_text():
    """The page with its stylesheet and script inlined."""
    html = _squeeze(_read("index.html"), None)
    css = _squeeze(_read("app.css"), "/*")
    script = _squeeze(_read("app.js"), "//")
    link = '<link rel="stylesheet" href="app.css">'
    tag = '<script src="app.js"></script>'
    if link not in html or tag not in html:
        raise SystemExit("index.html must link app.css and app.js as the build expects")
    html = html.replace(link, "<style>" + css + "</style>")
    return html.replace(tag, "<script>" + script + "</script>")


def build():
    """(gzipped page bytes, manifest dict)."""
    raw = page_text().encode("utf-8")
    packed = gzip.compress(raw, compresslevel=9, mtime=0)
    etag = '"' + hashlib.sha256(raw).hexdigest()[:16] + '"'
    entry = {
        "file": PAGE_FILE,
        "type": "text/html; charset=utf-8",
        "bytes": len(packed),
        "raw_bytes": len(raw),
        "etag": etag,
    }
    manifest = {"assets": {path: entry for path in PAGE_PATHS}}
    return packed, manifest


def manifest_text(manifest):
    return json.dumps(manifest, indent=1, sort_keys=True) + "\n"


def is_current():
    """True when the files on disk hold what build() makes (compared inflated:
    another zlib may pack the same page into other bytes)."""
    packed, manifest = build()
    try:
        with open(os.path.join(WEB, PAGE_FILE), "rb") as handle:
            on_disk = gzip.decompress(handle.read())
        with open(os.path.join(WEB, MANIFEST_FILE)) as handle:
            stored = json.load(handle)
    except (OSError, ValueError):
        return False
    etag = manifest["assets"]["/"]["etag"]
    return on_disk == gzip.decompress(packed) and stored["assets"]["/"]["etag"] == etag


def main(argv):
    if "--check" in argv:
        if not is_current():
            print("web page out of date: run python tools/build_web.py", file=sys.stderr)
            return 1
        return 0
    packed, manifest = build()
    with open(os.path.join(WEB, PAGE_FILE), "wb") as handle:
        handle.write(packed)
    with open(os.path.join(WEB, MANIFEST_FILE), "w") as handle:
        handle.write(manifest_text(manifest))
    entry = manifest["assets"]["/"]
    print(
        "web page: %d bytes, %d gzipped, ETag %s"
        % (entry["raw_bytes"], entry["bytes"], entry["etag"])
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
