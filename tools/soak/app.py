"""The app with its embedded node, in a process of its own on given ports, stopped by pid: the
bench's app (tools/bench/apps.py), ready once started."""

from pathlib import Path

from tools.bench.apps import App


class SoakedApp(App):
    def __init__(self, workdir: Path, api_port: int, node_port: int, settings: dict[str, str]):
        self.data_dir = workdir / "data"
        env = {
            "APP_STORAGE": "dqlite",
            "APP_NODE_ADDRESS": f"127.0.0.1:{node_port}",
            "APP_DATA_DIR": str(self.data_dir),
            "APP_ACCESS_TOKEN_MINUTES": str(24 * 60),
            **settings,
        }
        super().__init__(workdir, env, port=api_port)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        super().start()
        self.wait_ready()
