"""Outgoing email over SMTP (plain, STARTTLS or implicit TLS), one connection per batch.

The standard library's client runs in a worker thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage


class MailUnavailable(RuntimeError):
    """The SMTP server cannot be reached or refused the batch."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: str = "none"  # "none", "starttls" or "tls"
    username: str = ""
    password: str = ""
    timeout: float = 20.0


def _send_batch(server: SmtpServer, batch: list[EmailMessage]) -> list[bool]:
    """Send each message; True where the server accepted it."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    try:
        if server.tls == "tls":
            client = smtplib.SMTP_SSL(
                server.host, server.port, timeout=server.timeout, context=context
            )
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
    except (OSError, smtplib.SMTPException) as error:
        raise MailUnavailable(f"cannot reach {server.host}:{server.port}: {error}") from error
    accepted: list[bool] = []
    try:
        if server.tls == "starttls":
            client.starttls(context=context)
        if server.username:
            client.login(server.username, server.password)
        for message in batch:
            try:
                refused = client.send_message(message)
                accepted.append(not refused)
            except smtplib.SMTPRecipientsRefused:
                accepted.append(False)
    except (OSError, smtplib.SMTPException) as error:
        if not accepted:
            raise MailUnavailable(f"{server.host}:{server.port} failed: {error}") from error
        # Part of the batch went out: report it, and the rest as not sent.
        accepted.extend([False] * (len(batch) - len(accepted)))
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
    return accepted


async def send_batch(server: SmtpServer, batch: list[EmailMessage]) -> list[bool]:
    if not batch:
        return []
    return await asyncio.to_thread(_send_batch, server, batch)


def _append(path: str, batch: list[EmailMessage]) -> None:
    with open(path, "ab") as mailbox:
        for message in batch:
            mailbox.write(b"From preau\n" + message.as_bytes() + b"\n")


async def append_to_file(path: str, batch: list[EmailMessage]) -> None:
    """The demo's mail server: each message appended to ``path`` (an mbox file)."""
    await asyncio.to_thread(_append, path, batch)
