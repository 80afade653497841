"""Messages: conversations under the school's who-may-write-to-whom rules, class
announcements with read receipts, moderation, preferences, the email digest and the sending
limit; the live events that follow every change are published after the commit.

One module a noun: ``rules`` (the school's rules and who the sender is to them), ``recipients``
(whom a draft reaches, the compose form's contacts), ``conversations`` (start, reply, read,
archive), ``attachments``, ``inbox``, ``unread`` (counts and live events), ``moderation``,
``announcements``, ``preferences``, ``digests`` (the daily email), ``sending`` (the rate limit),
and ``queries`` (the pieces they share). Import a name from the module that owns it; the
re-exports below are only the actions ``web/messages.py`` and ``api/messages.py`` call as
``messages.<name>``.
"""

from preau.actions.messages.announcements import (
    announcement_receipts,
    get_announcement,
    list_announcements,
    mark_announcement_read,
    open_announcement,
    post_announcement,
)
from preau.actions.messages.attachments import open_attachment
from preau.actions.messages.conversations import (
    get_conversation,
    mark_conversation_read,
    open_conversation,
    reply,
    set_archived,
    start_conversation,
)
from preau.actions.messages.inbox import INBOX_PAGE_SIZE, inbox_cached, list_inbox
from preau.actions.messages.moderation import (
    dismiss_report,
    hide_message,
    list_reports,
    report_message,
)
from preau.actions.messages.preferences import get_preferences, set_preferences
from preau.actions.messages.recipients import list_contacts
from preau.actions.messages.rules import get_messaging_settings, update_messaging_settings
from preau.actions.messages.unread import etag_of, unread_counts_cached

__all__ = [
    "INBOX_PAGE_SIZE",
    "announcement_receipts",
    "dismiss_report",
    "etag_of",
    "get_announcement",
    "get_conversation",
    "get_messaging_settings",
    "get_preferences",
    "hide_message",
    "inbox_cached",
    "list_announcements",
    "list_contacts",
    "list_inbox",
    "list_reports",
    "mark_announcement_read",
    "mark_conversation_read",
    "open_announcement",
    "open_attachment",
    "open_conversation",
    "post_announcement",
    "reply",
    "report_message",
    "set_archived",
    "set_preferences",
    "start_conversation",
    "unread_counts_cached",
    "update_messaging_settings",
]
