# The installer's web page (DESIGN.md "web/"): static files under panel/web/,
# gzipped at build time by tools/build_web.py, streamed from flash as they are
# (Content-Encoding: gzip, never inflated on the panel) with an ETag, and a
# 304 when the browser already has that version (If-None-Match).
#
#   GET /             the page (public: auth.PUBLIC_PATHS); everything it shows
#                     comes from the public API with the installer's token
#
# panel/web/manifest.json, written by the build next to the .gz files, names
# each served path's file, type, byte count and ETag, so the panel hashes
# nothing at run time. A board without the built files serves no page (404 in
# the BAS-IP shape): the API works the same.
import json

from microdot import Response

from panel.api.common import error_for

# The page's paths and the file each one serves (both names in the manifest).
PAGE_PATHS = ("/", "/index.html")
MANIFEST_NAME = "manifest.json"
# Bytes read from flash per write to the socket: a small, fixed buffer, so the
# page costs the heap one chunk, not its size.
_CHUNK_BYTES = 1024


def web_directory(board):
    """panel/web/ beside this package, unless the board names another."""
    named = board.get("web_dir") if board else None
    if named:
        return named
    # __file__ is panel/api/web_page.py (or .mpy) on both runtimes.
    here = __file__.replace("\\", "/")
    return here.rsplit("/", 2)[0] + "/web"


def load_manifest(directory):
    """{path: entry} from the build's manifest; {} when the page is not built."""
    try:
        with open(directory + "/" + MANIFEST_NAME) as handle:
            document = json.load(handle)
    except OSError:
        return {}
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    assets = document.get("assets")
    return assets if isinstance(assets, dict) else {}


def _etag_matches(header, etag):
    # If-None-Match may list several tags, or "*"; W/ prefixes compare weakly.
    if not header:
        return False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == "*" or candidate == etag:
            return True
    return False


def register(app, services):
    directory = web_directory(services.board)
    assets = load_manifest(directory)

    def serve(path):
        entry = assets.get(path)

        async def page(request):
            if entry is None:
                return error_for(request, 404).answer()
            headers = {
                "ETag": entry["etag"],
                # Revalidate each time (cheap: a 304 with no body); a new
                # firmware's page is seen at once.
                "Cache-Control": "no-cache",
            }
            if _etag_matches(request.headers.get("If-None-Match"), entry["etag"]):
                return Response(b"", 304, headers)
            try:
                stream = open(directory + "/" + entry["file"], "rb")
            except OSError:
                return error_for(request, 404).answer()
            headers["Content-Type"] = entry["type"]
            headers["Content-Encoding"] = "gzip"
            headers["Content-Length"] = str(entry["bytes"])
            response = Response(stream, 200, headers)
            response.send_file_buffer_size = _CHUNK_BYTES
            return response

        return page

    for path in PAGE_PATHS:
        app.route(path, methods=["GET"])(serve(path))
