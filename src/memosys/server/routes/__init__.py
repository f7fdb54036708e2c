"""One router per resource; :func:`memosys.server.app.create_app` includes them all."""
