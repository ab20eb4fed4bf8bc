"""`python -m entrypoints`: serve the API, with an embedded dqlite node unless told otherwise."""

import logging

import uvicorn

from entrypoints.app import create_app
from entrypoints.container import Container


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    container = Container()
    settings = container.settings()
    uvicorn.run(create_app(container), host=settings.api_host, port=settings.api_port)


if __name__ == "__main__":
    main()
