"""`ganctl download-data`."""

from __future__ import annotations

from pathlib import Path

import typer

from ganctl.cli import app
from ganctl.cli.common import json_option, print_json, print_table


@app.command("download-data")
def download_data(
    names: list[str] = typer.Argument(None, help="Dataset names (see --list)."),
    list_: bool = typer.Option(False, "--list", help="Show the catalog and what is present."),
    root: Path = typer.Option(None, "--root", help="Data folder (default: the user data dir, "
                              "or $GANCTL_HOME/data)."),
    source: Path = typer.Option(None, "--from", help="Import a zip/tar or a folder you "
                                "obtained yourself instead of downloading."),
    force: bool = typer.Option(False, "--force", help="Download and unpack again."),
    verify: bool = typer.Option(False, "--verify", help="Check installed datasets against "
                                "their checksums and layouts."),
    as_json: bool = json_option(),
) -> None:
    """Fetch datasets into the data folder: checked, resumable, safely unpacked.

    Examples:

      ganctl download-data --list

      ganctl download-data edges2shoes horse2zebra

      ganctl download-data celeba --from ~/Downloads/archive.zip

      ganctl download-data --verify
    """
    from ganctl.data import catalog, install
    from ganctl.errors import GanctlError, UsageError

    data_root = install.data_root(root)
    if list_ or not (names or verify):
        _show_catalog(data_root, as_json)
        return
    names = names or [n for n in catalog.CATALOG if catalog.locate(n, data_root)]
    if verify and not names:
        typer.echo(f"nothing to verify: no dataset is installed in {data_root} (nor in the "
                   "system folders ganctl reads, such as Debian's "
                   f"{catalog.DEBIAN_FASHION_MNIST})", err=True)
        if as_json:
            print_json([])
        return
    unknown = [n for n in names if n not in catalog.CATALOG]
    if unknown:
        raise UsageError(f"unknown dataset(s): {', '.join(unknown)}; see --list")
    if source is not None and len(names) != 1:
        raise UsageError("--from imports one dataset; name exactly one")
    rows, failures = [], 0
    for name in names:
        try:
            if verify:
                problems = install.verify(name, data_root)
                rows.append({"name": name, "ok": not problems, "problems": problems})
                failures += bool(problems)
                msg = "ok" if not problems else "; ".join(problems)
            else:
                where, what = install.install(name, data_root, force=force, source=source)
                rows.append({"name": name, "ok": True, "path": str(where), "result": what})
                msg = f"{what} ({where})"
        except GanctlError as e:
            failures += 1
            rows.append({"name": name, "ok": False, "error": str(e)})
            msg = f"error: {e}"
        if len(names) > 1 or rows[-1]["ok"]:
            typer.echo(f"{name}: {msg}", err=True)
    if as_json:
        print_json(rows)
    if failures:
        raise GanctlError(f"{failures} of {len(names)} dataset(s) failed"
                          if len(names) > 1 else rows[0].get("error") or
                          "; ".join(rows[0].get("problems", [])))


def _show_catalog(root: Path, as_json: bool) -> None:
    from ganctl.data import catalog

    rows = [{"name": d.name, "layout": d.layout, "summary": d.summary, "size": d.size,
             "licence": d.licence, "urls": list(d.urls),
             "how": "download" if d.urls else "--from PATH",
             "local": str(where) if (where := catalog.locate(d.name, root)) else None}
            for d in catalog.CATALOG.values()]
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(box=None, title=f"datasets (data folder: {root})")
    for col in ("name", "layout", "size", "present", "how", "contents", "licence"):
        table.add_column(col, no_wrap=col in ("name", "present"))
    for r in rows:
        table.add_row(r["name"], r["layout"], r["size"], "yes" if r["local"] else "-",
                      r["how"], r["summary"], r["licence"])
    print_table(table)
