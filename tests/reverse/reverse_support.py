"""What the reverse tests share: a mapping file with a reverse_mapping, and the two Brevo keys."""

from __future__ import annotations

from pathlib import Path

from tests.support.sandboxes import BREVO_KEY

REPO = Path(__file__).resolve().parents[2]
MARKETING_KEY = "xkeysib-marketing-team"
#: The product's own key is named as options.reverse.api_key_name says; a person's key otherwise.
KEY_NAMES = {BREVO_KEY: "pipedrive-brevo-sync", MARKETING_KEY: "marketing-team"}

REVERSE_MAPPING = """
reverse_mapping:
  email_blacklisted: marketing_status
  FULLNAME: name
  INDUSTRY: custom_fields.industry
  NEWSLETTER: custom_fields.newsletter_opt_in
  hard_bounced: label_ids.Cold lead
"""


def reverse_mapping_file(tmp_path: Path, conflict: str = "pipedrive_wins") -> Path:
    """The shipped mapping with a reverse_mapping section and the given conflict rule."""
    text = (REPO / "include" / "mappings" / "pipedrive_brevo.yaml").read_text()
    text = text.replace("    conflict: pipedrive_wins", f"    conflict: {conflict}")
    path = tmp_path / "mapping.yaml"
    path.write_text(text + REVERSE_MAPPING)
    return path
