"""The memosys REST server: FastAPI routes over one :class:`~memosys.MemOS`.

Build the app with :func:`memosys.server.app.create_app`; run it with
``memosys serve``. Nothing here is imported by the library itself.
"""
