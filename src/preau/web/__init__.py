"""Server-rendered pages (Jinja2), thin: parse, call an action, render."""
