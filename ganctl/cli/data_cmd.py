"""`ganctl download-data`."""

from __future__ import annotations

import typer

from ganctl.cli import app
from ganctl.cli.common import json_option, print_json


@app.command("download-data")
def download_data(
    names: list[str] = typer.Argument(None, help="Dataset names (see --list)."),
    list_: bool = typer.Option(False, "--list", help="Show the catalog and what is present."),
    as_json: bool = json_option(),
) -> None:
    """Fetch datasets into the data dir, or list the catalog.

    Examples:

      ganctl download-data --list

      ganctl download-data fashion-sneakers
    """
    from ganctl import paths
    from ganctl.data import catalog
    from ganctl.errors import NotYetAvailable, UsageError

    if list_ or not names:
        rows = [{"name": d.name, "layout": d.layout, "summary": d.summary, "size": d.size,
                 "licence": d.licence, "urls": list(d.urls),
                 "local": str(where) if (where := catalog.locate(d.name)) else None}
                for d in catalog.CATALOG.values()]
        if as_json:
            print_json(rows)
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(box=None, title=f"datasets (data dir: {paths.data_dir()})")
        for col in ("name", "layout", "size", "present", "what"):
            table.add_column(col)
        for r in rows:
            table.add_row(r["name"], r["layout"], r["size"], "yes" if r["local"] else "-",
                          r["summary"])
        Console().print(table)
        return
    unknown = [n for n in names if n not in catalog.CATALOG]
    if unknown:
        raise UsageError(f"unknown dataset(s): {', '.join(unknown)}; see --list")
    present = {n: catalog.locate(n) for n in names}
    missing = [n for n, where in present.items() if where is None]
    for n, where in present.items():
        if where is not None:
            typer.echo(f"{n}: present at {where}", err=True)
    if missing:
        raise NotYetAvailable(f"downloading is not implemented yet ({', '.join(missing)}); "
                              f"unpack the data under {paths.data_dir()}/<name> or pass "
                              "--data PATH to train")
