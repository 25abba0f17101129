# GET /api/openapi.json: the OpenAPI 3.1 document of both contracts, public
# (no login), as tools/openapi.py wrote it: compact JSON, gzipped, in the file
# openapi.json.gz next to this module (some 10 KB of flash instead of about
# 80 KB). It is streamed from the file in microdot's send_file chunks, never
# read whole into the heap, with `Content-Encoding: gzip` whatever the client's
# Accept-Encoding says: the panel cannot inflate it cheaply, and every HTTP
# client an integrator uses can (curl needs --compressed).
from panel.api.common import ApiError, route

DOCUMENT_PATH = "/api/openapi.json"
_FILE_NAME = "openapi.json.gz"


def document_file():
    """The document's file: next to this module on both runtimes (a board
    keeps the .mpy files and the .gz in the same folder of its flash); a
    module without __file__ (frozen into the firmware) looks in the current
    folder."""
    here = globals().get("__file__") or ""
    folder = here.rsplit("/", 1)[0] if "/" in here else "."
    return folder + "/" + _FILE_NAME


def register(app, services):
    from microdot import Response

    path = document_file()

    async def document(request):
        try:
            stream = open(path, "rb")
        except OSError:
            # A board flashed without the document: say so, never a 500.
            raise ApiError(404, "Not found")
        return Response.send_file(
            path, content_type="application/json", compressed=True, stream=stream
        )

    route(app, DOCUMENT_PATH, ["GET"])(document)
