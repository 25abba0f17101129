"""The baseline of bench_http.py: a bare microdot 2.7 app, nothing of ours.

Serves each path of a JSON file {path: document} with GET, answering the
document as microdot answers a dict (json.dumps per request), on
127.0.0.1:<port> with microdot's own server loop (start_server), in a CPython
process like the panel's.

Usage: python bare_microdot_server.py PORT ROUTES.json
"""

import asyncio
import json
import sys

from microdot import Microdot


def build(routes):
    app = Microdot()
    for path, document in routes.items():

        def handler(document):
            async def answer(request):
                return document

            return answer

        app.route(path, methods=["GET"])(handler(document))
    return app


def main():
    port = int(sys.argv[1])
    with open(sys.argv[2]) as handle:
        routes = json.load(handle)
    app = build(routes)
    print("bare microdot: listening on %d" % port, flush=True)
    asyncio.run(app.start_server(host="127.0.0.1", port=port))


if __name__ == "__main__":
    main()
