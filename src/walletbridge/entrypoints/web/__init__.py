"""The wallet web app: server-rendered pages (Jinja2, htmx 2, Bootstrap 5) in zh-CN and en.

``app.web_parts`` gives what ``entrypoints.api.app.create_app`` mounts: the page routes (every
``pages_*`` module's ``routes``), the session middleware, CSRF and the template engine.
"""
