"""Pages of the self-service password reset: ask for a link by username or email address,
then choose a new password through it (``actions/password_resets.py``)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from preau import i18n
from preau.actions import password_resets
from preau.domain.errors import PreauError, TooManyAttempts
from preau.web.accounts import client_address
from preau.web.dependencies import AppServices
from preau.web.render import render, session_of, translate_error

Req = Request[Any, Any, Any]


@get("/password/forgot", include_in_schema=False)
async def forgot_page(request: Req) -> Response[Any]:
    if session_of(request):
        return Redirect("/account")
    return render(request, "password/forgot.html", account="", sent=False)


@post("/password/forgot", include_in_schema=False)
async def forgot_submit(request: Req, services: AppServices) -> Response[Any]:
    form = await request.form()
    account = str(form.get("account", ""))[:254]
    try:
        await password_resets.request_reset(
            services, account=account, address=client_address(request)
        )
    except PreauError as error:
        response = render(
            request,
            "password/forgot.html",
            status_code=error.status,
            account=account,
            sent=False,
            error=translate_error(error),
        )
        if isinstance(error, TooManyAttempts):
            response.headers["retry-after"] = str(error.retry_after)
        return response
    # The same page whether the account exists, has an address, or not.
    return render(request, "password/forgot.html", account="", sent=True)


@get("/password/reset/{token:str}", include_in_schema=False)
async def reset_page(request: Req, services: AppServices, token: FromPath[str]) -> Response[Any]:
    try:
        await password_resets.check_reset_link(services, token)
    except PreauError as error:
        return render(
            request,
            "password/reset.html",
            status_code=error.status,
            token=None,
            error=translate_error(error),
        )
    return render(request, "password/reset.html", token=token)


@post("/password/reset/{token:str}", include_in_schema=False)
async def reset_submit(request: Req, services: AppServices, token: FromPath[str]) -> Response[Any]:
    form = await request.form()
    password = str(form.get("password", ""))
    if password != str(form.get("password_again", "")):
        return render(
            request,
            "password/reset.html",
            status_code=400,
            token=token,
            error=i18n.gettext("The two passwords are different. Type the same password twice."),
        )
    try:
        username = await password_resets.reset_password(
            services, token=token, password=password, address=client_address(request)
        )
    except PreauError as error:
        response = render(
            request,
            "password/reset.html",
            status_code=error.status,
            token=token if error.field != "token" else None,
            error=translate_error(error),
        )
        if isinstance(error, TooManyAttempts):
            response.headers["retry-after"] = str(error.retry_after)
        return response
    return render(
        request, "login.html", username=username, next_path="/home", password_changed=True
    )


routes = [forgot_page, forgot_submit, reset_page, reset_submit]
