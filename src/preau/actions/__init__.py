"""Every state change, by area: ``check_*`` validates, ``do_*`` or a verb mutates, and
side effects (pub/sub, cache invalidation) go out only after the database commit."""
