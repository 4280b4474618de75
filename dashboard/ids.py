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
LIVE_MOOD: Final = "live-mood"
LIVE_ATTENDANCE: Final = "live-attendance"
LIVE_NOTE_INPUT: Final = "live-note-input"
LIVE_NOTE_ADD: Final = "live-note-add"
LIVE_NOTE_MESSAGE: Final = "live-note-message"
LIVE_NOTES: Final = "live-notes"
LIVE_NOTE_ADDED: Final = "live-note-added"  # a store the Add note callback writes, so the chart redraws at once

# Sessions (/sessions)
SESSIONS_TABLE: Final = "sessions-table"
SESSIONS_LIST: Final = "sessions-list"
SESSIONS_TITLE_FILTER: Final = "sessions-title-filter"
SESSIONS_DATE_FILTER: Final = "sessions-date-filter"
SESSIONS_COUNT: Final = "sessions-count"
SESSIONS_DELETE: Final = "sessions-delete"  # pattern-matching: {"type": SESSIONS_DELETE, "index": <session id>}
SESSIONS_CONFIRM: Final = "sessions-confirm"
SESSIONS_PENDING: Final = "sessions-pending"  # the session whose deletion awaits confirmation
SESSIONS_DELETED: Final = "sessions-deleted"
SESSIONS_MESSAGE: Final = "sessions-message"
SESSIONS_COMPARE_LINK: Final = "sessions-compare-link"

# Session review (/sessions/<id>)
REVIEW_HEADER: Final = "review-header"
REVIEW_TIMELINE: Final = "review-timeline"
REVIEW_DISTRIBUTION: Final = "review-distribution"
REVIEW_STUDENTS: Final = "review-students"
REVIEW_NOT_FOUND: Final = "review-not-found"
REVIEW_FLAGS: Final = "review-flags"
REVIEW_HEATMAP: Final = "review-heatmap"
REVIEW_STUDENT_SELECT: Final = "review-student-select"
REVIEW_STUDENT_TIMELINE: Final = "review-student-timeline"
REVIEW_STUDENT_PROBABILITIES: Final = "review-student-probabilities"
REVIEW_NOTE_TIME: Final = "review-note-time"
REVIEW_NOTE_INPUT: Final = "review-note-input"
REVIEW_NOTE_ADD: Final = "review-note-add"
REVIEW_NOTE_MESSAGE: Final = "review-note-message"
REVIEW_NOTES: Final = "review-notes"
# where the printable report's links go ("Report (HTML)", "Report (PDF)"); the report itself is built elsewhere
REPORT_LINKS: Final = "report-links"

# Compare (/compare?ids=1,2)
COMPARE_SELECT: Final = "compare-select"
COMPARE_MEASURE: Final = "compare-measure"
COMPARE_DISTRIBUTION: Final = "compare-distribution"
COMPARE_TIMELINE: Final = "compare-timeline"
COMPARE_SUMMARY: Final = "compare-summary"

# Settings (/settings); the fields are pattern-matching ids keyed by the setting's dotted path in FlagSettings
SETTINGS_FORM: Final = "settings-form"
SETTINGS_NOTE: Final = "settings-note"
SETTINGS_SAVE: Final = "settings-save"
SETTINGS_MESSAGE: Final = "settings-message"
SETTINGS_NUMBER: Final = "settings-number"  # {"type": SETTINGS_NUMBER, "field": "sustained_negative.threshold"}
SETTINGS_ERROR: Final = "settings-error"  # {"type": SETTINGS_ERROR, "field": <same path>}: that field's message
SETTINGS_ENABLED: Final = "settings-enabled"  # {"type": SETTINGS_ENABLED, "rule": "sustained_negative"}

# Settings (/settings), analysis options (db.settings.AnalysisSettings)
ANALYSIS_INTERVAL: Final = "analysis-interval"
ANALYSIS_FPS: Final = "analysis-fps"
ANALYSIS_LAYOUT: Final = "analysis-layout"
ANALYSIS_SAVE: Final = "analysis-save"
ANALYSIS_MESSAGE: Final = "analysis-message"
ANALYSIS_NOTE: Final = "analysis-note"

# School overview (/school)
SCHOOL_INTERVAL: Final = "school-interval"
SCHOOL_SUMMARY: Final = "school-summary"
SCHOOL_ROOMS: Final = "school-rooms"

# Live (/?session=ID or /?classroom=ROOM): which session the page was asked to show, from its query string
LIVE_TARGET: Final = "live-target"

# Settings (/settings), responsible use (db.settings.PrivacySettings) and one student's data (db.privacy)
PRIVACY_MODE: Final = "privacy-mode"
PRIVACY_LOCK: Final = "privacy-lock"
PRIVACY_PER_STUDENT: Final = "privacy-per-student"
PRIVACY_RETENTION: Final = "privacy-retention"
PRIVACY_SCHOOL: Final = "privacy-school"
PRIVACY_CONTACT: Final = "privacy-contact"
PRIVACY_SAVE: Final = "privacy-save"
PRIVACY_MESSAGE: Final = "privacy-message"
STUDENT_NAME: Final = "student-name"
STUDENT_EXPORT: Final = "student-export"
STUDENT_DOWNLOAD: Final = "student-download"
STUDENT_FORGET: Final = "student-forget"
STUDENT_FORGET_CONFIRM: Final = "student-forget-confirm"
STUDENT_MESSAGE: Final = "student-message"

# Notice (/notice) and the Live page's line about the mode
NOTICE: Final = "notice"
LIVE_MODE: Final = "live-mode"
LIVE_MOOD_TITLE: Final = "live-mood-title"  # the Live page's headings that say presence in presence mode
LIVE_TIMELINE_TITLE: Final = "live-timeline-title"
LIVE_STUDENTS_CAPTION: Final = "live-students-caption"

# Compare: presence-mode sessions
COMPARE_PRESENCE: Final = "compare-presence"
COMPARE_PRESENCE_CARD: Final = "compare-presence-card"
COMPARE_EMOTION_CARDS: Final = "compare-emotion-cards"
