"""Default settings. Every one can be overridden by an environment variable ``MINIAPP_<NAME>`` (its
value read as JSON when it parses, e.g. ``MINIAPP_TOKEN_MAX_AGE=600``; a nested key with ``__``:
``MINIAPP_DEPARTMENT_WEBHOOKS__hrss='{"url": …}'``), by ``MINIAPP_CONFIG_JSON`` (several as one JSON
object), or by the mapping passed to ``create_app``. DATABASE_URL, REDIS_URL, SECRET_KEY, UPLOAD_FOLDER
and TRUSTED_PROXIES are also read from their plain names."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Embedded default: a SQLite file under instance/. Production: DATABASE_URL=postgresql://...
SQLALCHEMY_DATABASE_URI = f"sqlite:///{ROOT / 'instance' / 'miniapp.sqlite'}"
# Unset: the dev server runs on in-process fallbacks (no queues, local rate limits).
REDIS_URL = None
# Signs bearer tokens and console cookies. Required outside debug/testing: 32 bytes or more, e.g.
# `python -c 'import secrets; print(secrets.token_urlsafe(48))'`; the app refuses to start without it.
# With FLASK_DEBUG=1 (a development machine) a random one is made once and kept in SECRET_KEY_FILE.
SECRET_KEY = None
SECRET_KEY_FILE = None  # unset: instance/secret_key
# Personal data at rest is sealed per record (envelope encryption, miniapp_api/keys.py): a data key per
# value, wrapped by a master key. Either the keys themselves ({"k1": "<base64 of 32 random bytes>"}, the one
# new records use, and the HMAC key of the search indexes), or KEYRING_FILE, a file holding them that every
# server shares (made on first use; `flask keys rotate` adds a key to it). Required outside debug/testing.
MASTER_KEYS: dict = {}
MASTER_KEY_ID = None
BLIND_INDEX_KEY = None
KEYRING_FILE = None  # unset with FLASK_DEBUG=1: instance/keyring.json
# Where uploaded document photos go by default.
UPLOAD_FOLDER = str(ROOT / "uploads")
# Largest request body accepted (bytes).
MAX_CONTENT_LENGTH = 16 * 1024 * 1024
# Refuse to start when a dialogs/*.yaml file has problems.
DIALOGS_CHECK_ON_START = True
# Where the region files are (unset: dialogs/). Each file's version is a hash of its content; questionnaires
# and cases record theirs (services/rules_versions.py).
DIALOGS_DIR = None
# Who of the staff sees which field groups and photos of a case (最小必要; config/README.md, "Who sees what").
# Unset: config/need_to_know.yaml. The app refuses to start with a broken file.
NEED_TO_KNOW_FILE = None
JSON_AS_ASCII = False

# Connections are checked before use (a restarted database is reconnected), and an error's log line
# never carries the values bound to its SQL (phones, names, ID numbers). Options set elsewhere are added
# to these two, which stay unless overridden by name.
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}

_ = os  # settings files may read the environment; create_app applies the overrides

# --- Sign-in -------------------------------------------------------------------------------------
# Our own bearer tokens (signed with SECRET_KEY) expire after this many seconds.
TOKEN_MAX_AGE = 2 * 60 * 60
# WeChat mini-program (code2session, getPhoneNumber). WECHAT_API_BASE is overridable for tests.
WECHAT_APPID = None
WECHAT_SECRET = None
WECHAT_API_BASE = "https://api.weixin.qq.com"
WECHAT_TIMEOUT = 5
# Host-app channels (湘易办-style provincial apps): name -> {"name": ..., and either "secret": shared
# HS256 key, or "jwks_url": the host's public key set}. The host signs a short-lived JWT with
# `iss` = channel name and `sub` = its user id.
HOST_CHANNELS: dict = {}
# A host assertion must carry exp, iat and jti, live at most this long (exp - iat), and is accepted once.
# Outside tests a jwks_url must be https:// and a shared secret at least 32 bytes (checked at start).
HOST_ASSERTION_MAX_AGE = 5 * 60
# SMS one-time codes for the H5 pages.
OTP_TTL = 5 * 60
OTP_MAX_ATTEMPTS = 5
OTP_RESEND_INTERVAL = 60
OTP_MAX_PER_HOUR = 10
# Against SMS pumping (services/sms_limits.py): texts per client address, per number per day, and in all (all
# senders together, to cap the bill); after OTP_CHALLENGE_AFTER texts from one address in an hour, each further
# one needs a challenge answered. SMS_CHALLENGE: "pow" (built-in proof of work, miniapp_api/challenge.py), "none",
# or "package.module:factory" for a captcha service's adapter (Tencent / Alibaba Cloud captcha in production).
OTP_LIMITS_PER_ADDRESS = "5 per 10 minutes;20 per day"
OTP_MAX_PER_PHONE_PER_DAY = 10
OTP_LIMITS_GLOBAL = "60 per minute;1000 per hour"
OTP_CHALLENGE_AFTER = 3
SMS_CHALLENGE = "pow"
SMS_CHALLENGE_DIFFICULTY = 18  # leading zero bits of SHA-256: about 2**18 hashes, a second or two on a phone
SMS_CHALLENGE_TTL = 300

# --- Uploads -------------------------------------------------------------------------------------
# S3-compatible object store for several servers (unset: the local UPLOAD_FOLDER).
S3_BUCKET = None
S3_ENDPOINT_URL = None
S3_CLIENT_OPTIONS: dict = {}
# Every file is encrypted by the app before it reaches the folder or the bucket (the envelope of the master
# keys above, miniapp_api/storage.py). Set to a KMS key id or ARN to have the bucket encrypt each object with
# it as well (SSE-KMS: ServerSideEncryption=aws:kms, SSEKMSKeyId); the servers' S3 credentials then need
# kms:GenerateDataKey and kms:Decrypt on that key. Unset: only the app's own encryption.
S3_SSE_KMS_KEY_ID = None
# Image pipeline limits (see miniapp_api/imaging.py ImageLimits): longest stored side, thumbnail side,
# the smallest readable side, the blur score below which a photo is unreadable and what to do then.
UPLOAD_MAX_BYTES = 15 * 1024 * 1024
UPLOAD_MAX_PIXELS = 40_000_000
UPLOAD_MAX_SIDE = 2000
UPLOAD_THUMB_SIDE = 320
UPLOAD_MIN_SIDE = 400
UPLOAD_BLUR_THRESHOLD = 60.0
UPLOAD_BLUR_ACTION = "reject"  # or "warn"
UPLOAD_MAX_PAGES_PER_MATERIAL = 10
# Retention (config/README.md says why each): unsubmitted questionnaires with their uploads and resume
# secrets, a completed case's document photos, and notification recipients and contents, in days.
QUESTIONNAIRE_RETENTION_DAYS = 30
CASE_PHOTO_RETENTION_DAYS = 90
NOTIFICATION_RETENTION_DAYS = 7
# PNG, WebP and HEIF are decoded whole (only JPEG is decoded at a reduced scale, under UPLOAD_MAX_PIXELS):
# their own, lower pixel cap, read from the header (25 MP: a 24-MP iPhone HEIF, an A3 scan at 300 dpi).
UPLOAD_MAX_PIXELS_FULL_DECODE = 25_000_000
# Photos and PDFs processed at once per server process (each may take ~100 MB and a CPU for a second); an
# upload waits up to UPLOAD_DECODE_WAIT seconds for its turn, then is answered 503 busy_try_again (Retry-After).
UPLOAD_MAX_CONCURRENT_DECODES = 2
UPLOAD_DECODE_WAIT = 3
# Files uploaded (each file counts one, refused ones too) per client address, and per questionnaire
# (only requests its owner may make count here). Flask-Limiter syntax; over it: 429 upload_rate_limited.
UPLOAD_LIMITS_PER_ADDRESS = "30 per minute;200 per hour"
UPLOAD_LIMITS_PER_QUESTIONNAIRE = "60 per hour;200 per day"

# --- Departments ---------------------------------------------------------------------------------
# Staff bearer tokens expire after this many seconds (and end at once on sign-out, a new password or a
# disabled account: POST /api/v1/staff/auth/sign-out, `flask staff password`, `flask staff disable`).
STAFF_TOKEN_MAX_AGE = 8 * 60 * 60
# ... and after this many seconds unused (等保: 登录连接超时自动退出), like the console; 0: no idle limit (a
# department system that polls less often signs in each time instead).
STAFF_TOKEN_IDLE_TIMEOUT = 30 * 60
# The console (/console) signs a clerk out after this many seconds without a page, and after this many
# seconds in all however busy (the sign-in is asked for again; 等保: 登录连接超时自动退出).
STAFF_CONSOLE_IDLE_TIMEOUT = 30 * 60
STAFF_CONSOLE_MAX_AGE = 8 * 60 * 60
# Wrong staff passwords or codes (services/staff_throttle.py), counted over a window of seconds: the first few
# per address and account are free, then that address waits 1 s, 2 s, 4 s … before trying that account; an
# address with this many failures across usernames waits out the window (no spraying); an account with this
# many failures from anywhere may then be tried only from addresses it signed in from in the last days given.
STAFF_SIGN_IN_WINDOW = 15 * 60
STAFF_SIGN_IN_FREE_FAILURES = 3
STAFF_SIGN_IN_FAILURES_PER_ADDRESS = 10
STAFF_SIGN_IN_FAILURES_PER_ACCOUNT = 20
STAFF_SIGN_IN_KNOWN_ADDRESS_DAYS = 30
# The second factor (TOTP codes of an authenticator app; enrol with `flask staff totp NAME`): required of
# every clerk (等保 level 3: two kinds of authentication, one cryptographic). Enrolled clerks always need it.
STAFF_REQUIRE_TOTP = True
# Encrypts the stored TOTP secrets (unset: derived from SECRET_KEY; a changed key means enrolling again).
STAFF_TOTP_KEY = None
# Where each department's system receives new work items: {"hrss": {"url": ..., "secret": ...}}.
DEPARTMENT_WEBHOOKS: dict = {}
# Seconds between webhook retries (one entry per retry); a delivery still failing after them is "dead".
WEBHOOK_RETRY_INTERVALS = [10, 60, 300, 1800, 7200]
WEBHOOK_TIMEOUT = 10
# Shared secrets department systems sign their result callbacks with: {"hrss": "..."}.
DEPARTMENT_CALLBACK_SECRETS: dict = {}
CALLBACK_MAX_SKEW = 300  # seconds a callback's timestamp may differ from ours
# Work items due within this many hours are listed as "due soon" for supervisors.
DUE_SOON_HOURS = 24
# Public status lookups (tracking code + phone tail): per client address and per code.
STATUS_LOOKUP_LIMITS = "10 per minute;60 per hour"

# --- Notifications -------------------------------------------------------------------------------
# SMS provider: "console" (the embedded default: sends nothing, prints each message with its sign-in code to
# the server's log), "aliyun" or "tencent" (settings below). The console is for developers: outside debug or
# testing mode the app refuses to start with it unless NOTIFY_SMS_CONSOLE_ALLOWED is True (a dev or CI machine
# running without --debug), so a production log never holds a code.
NOTIFY_SMS_PROVIDER = "console"
NOTIFY_SMS_CONSOLE_ALLOWED = False
NOTIFY_SMS_SETTINGS: dict = {}  # aliyun: access_key_id, access_key_secret, sign_name, endpoint; tencent: secret_id, ...
NOTIFY_SMS_TEMPLATES: dict = {}  # event -> provider template code / id
NOTIFY_SMS_MAX_CHARS = 140  # two SMS segments at most
# Where the family's H5 pages are, as a family types it (e.g. "https://zwfw.example.gov.cn/h5"): a text to a
# family on the web pages names this address (…/status) to supply what is missing; unset: it says 「网页」.
H5_PUBLIC_URL = ""
# WeChat subscribe-message template ids per event (the family consents per template in the mini-program).
NOTIFY_WECHAT_TEMPLATES: dict = {}
NOTIFY_WECHAT_PAGE = "pages/case/index"
# SMS quiet hours in China time [start, end): deferred to the end, except the events listed as urgent.
NOTIFY_QUIET_HOURS = [21, 8]
NOTIFY_URGENT_EVENTS = ["case_submitted"]
NOTIFY_MAX_SMS_PER_PHONE_PER_HOUR = 5
NOTIFY_RETRY_INTERVALS = [10, 60, 300, 1800]

# --- The worker (python -m miniapp_api.worker) -----------------------------------------------------
# Seconds between its health reports to Redis (read by `python -m miniapp_api.worker --check`).
WORKER_HEARTBEAT_SECONDS = 15
# Seconds a job keeps trying to record what it already sent while the database is away (a restart).
WORKER_DATABASE_WAIT = 30
# rq's log level in the worker: at INFO it writes four lines per job (WARNING: failures and retries only).
WORKER_LOG_LEVEL = "WARNING"

# The family's H5 journey (questionnaire, sign-in) is kept on the server this many seconds after the last visit
# (sliding); the session cookie holds only its random id and lasts as long. POST /h5/signout ends it.
H5_SESSION_LIFETIME = 7 * 24 * 3600

# CSRF tokens of the web forms last as long as the session (a family may take over an hour on the form).
WTF_CSRF_TIME_LIMIT = None

# --- Behind a proxy ------------------------------------------------------------------------------
# How many reverse proxies (config/nginx.conf) stand in front of gunicorn and set X-Forwarded-For,
# -Proto and -Host. 0: those headers are ignored (a client could forge them); 1 behind nginx, so rate
# limits count each family's own address and not the proxy's.
TRUSTED_PROXIES = 0

# --- Browsers ------------------------------------------------------------------------------------
# Origins (scheme://host[:port]) whose pages may call /api/v1 from a browser; none by default.
# Mini-programs are not browsers and need no entry here.
CORS_ORIGINS: list = []
