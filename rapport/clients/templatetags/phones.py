from django import template

from rapport.lib import phones

register = template.Library()


@register.filter
def phone(value: str, region: str = "") -> str:
    """A stored (E.164) number as people read it in the workspace's country:
    `{{ contact.phone|phone:workspace.phone_region }}`."""
    return phones.display(value, region)
