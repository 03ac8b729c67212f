"""The contact page's "is this right?" box: readings and permissions of this
contact's notes waiting for a person (two queries, for one contact)."""

from django import template

from rapport.agenda import questions

register = template.Library()


@register.inclusion_tag("agenda/_to_confirm.html", takes_context=True)
def to_confirm(context, contact):
    workspace = contact.workspace
    found, proposals = questions.to_confirm(workspace, workspace.today(), [contact.pk])
    return {
        "to_confirm": found,
        "to_grant": proposals,
        "show_name": False,
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
    }
