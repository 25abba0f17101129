"""Routes under /sim/ that only the host board mounts: the simulated hardware a
developer (and the tests) can see and touch. No authentication: they stand for
the panel's physical front, not its management API."""


def register(app, panel, relay_pins):
    panel.public_prefixes.append("/sim/")

    async def locks(request):
        return {"locks": [pin.describe() for pin in relay_pins]}

    app.route("/sim/locks", methods=["GET"])(locks)
