"""``agenthpo mcp``: AgentHPO as tools for coding agents, over the Model Context Protocol.

The server (built on the official ``mcp`` SDK, ``pip install 'agenthpo[mcp]'``) drafts and
validates task files, proposes and records trials (ask/tell), runs trials in the background
with progress, reports on studies, and lets the calling agent be the proposer. Everything is
confined to one root folder; only a task's own command or function runs, never a shell.

Importing this package does not import the SDK; :func:`build_server` and :func:`serve` do.

Example:
    >>> import tempfile
    >>> from agenthpo.mcp import Service
    >>> Service(tempfile.mkdtemp()).jobs
    {}
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from agenthpo.errors import AgentHPOError
from agenthpo.mcp._paths import PathOutsideRootError, Root
from agenthpo.mcp._service import Service

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = ["PathOutsideRootError", "Root", "Service", "build_server", "serve"]

_MISSING = (
    "the MCP server needs the mcp package, version 2 (its MCPServer API):"
    " pip install 'agenthpo[mcp]' 'mcp>=2'"
)


def _server_module() -> Any:
    try:
        from agenthpo.mcp import _server
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "mcp":
            raise AgentHPOError(f"{_MISSING} ({exc})") from None
        raise
    return _server


def build_server(root: str | Path) -> MCPServer[Any]:
    """The MCP server, confined to ``root`` (see :mod:`agenthpo.mcp._server`)."""
    server: MCPServer[Any] = _server_module().build_server(root)
    return server


def serve(*, root: str | Path, http: int | None = None) -> None:
    """Serves over stdio, or streamable HTTP on ``127.0.0.1:http``, until stopped."""
    _server_module().serve(root=root, http=http)
