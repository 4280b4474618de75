"""Every component id of the dashboard, in one place, so callbacks, layouts and browser tests agree.

Ids are unique across pages: Dash Pages mounts one page at a time, but a shared name would let one page's callback
write into another page's component. The CSV download controls are the exception on purpose: the Live and Review
pages both use them and one callback (``dashboard.downloads``) serves both.
"""

from typing import Final

# app shell
NAVBAR: Final = "navbar"

# shared by the pages that show one session
SESSION_ID_STORE: Final = "session-id-store"
CSV_CLASS_BUTTON: Final = "csv-class-button"
CSV_STUDENTS_BUTTON: Final = "csv-students-button"
CSV_DOWNLOAD: Final = "csv-download"

# Live (/)
LIVE_INTERVAL: Final = "live-interval"
LIVE_FINGERPRINT: Final = "live-fingerprint"
LIVE_BANNER: Final = "live-banner"
LIVE_CONTENT: Final = "live-content"
LIVE_STATUS: Final = "live-status"
LIVE_TIMELINE: Final = "live-timeline"
LIVE_DISTRIBUTION: Final = "live-distribution"
LIVE_DISTRIBUTION_CAPTION: Final = "live-distribution-caption"
LIVE_STUDENTS: Final = "live-students"
LIVE_FLAGS: Final = "live-flags"
LIVE_FLAGS_FINGERPRINT: Final = "live-flags-fingerprint"
LIVE_HONESTY: Final = "live-honesty"
LIVE_ACKNOWLEDGED: Final = "live-acknowledged"  # a store the Acknowledge callback writes, so the panel redraws at once
LIVE_FLAG_ACK: Final = "live-flag-ack"  # pattern-matching: {"type": LIVE_FLAG_ACK, "index": <flag id>}

# Sessions (/sessions)
SESSIONS_TABLE: Final = "sessions-table"

# Session review (/sessions/<id>)
REVIEW_HEADER: Final = "review-header"
REVIEW_TIMELINE: Final = "review-timeline"
REVIEW_DISTRIBUTION: Final = "review-distribution"
REVIEW_STUDENTS: Final = "review-students"
REVIEW_NOT_FOUND: Final = "review-not-found"
REVIEW_FLAGS: Final = "review-flags"

# Settings (/settings); the fields are pattern-matching ids keyed by the setting's dotted path in FlagSettings
SETTINGS_FORM: Final = "settings-form"
SETTINGS_NOTE: Final = "settings-note"
SETTINGS_SAVE: Final = "settings-save"
SETTINGS_MESSAGE: Final = "settings-message"
SETTINGS_NUMBER: Final = "settings-number"  # {"type": SETTINGS_NUMBER, "field": "sustained_negative.threshold"}
SETTINGS_ERROR: Final = "settings-error"  # {"type": SETTINGS_ERROR, "field": <same path>}: that field's message
SETTINGS_ENABLED: Final = "settings-enabled"  # {"type": SETTINGS_ENABLED, "rule": "sustained_negative"}
