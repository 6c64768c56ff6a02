//! Slot fillers: the nouns, names and numbers that templates are composed with.
//!
//! Product vocabulary is grouped per [`Domain`] so that a feature or a defect reads like it belongs to one product;
//! service vocabulary (hosts, groups, devices, sites) is shared, as it is in a real IT department.

/// The vocabulary of one product domain.
pub(super) struct Domain {
    /// Jira labels a team in this domain would use.
    pub labels: &'static [&'static str],
    /// How people name the product or its parts.
    pub apps: &'static [&'static str],
    pub screens: &'static [&'static str],
    /// New capabilities, phrased to follow "add" / "support".
    pub features: &'static [&'static str],
    /// Things the product computes, which a defect gets wrong.
    pub calcs: &'static [&'static str],
    /// A subset of users or inputs where a defect shows.
    pub segments: &'static [&'static str],
    pub entities: &'static [&'static str],
    pub fields: &'static [&'static str],
    /// Unusual inputs, phrased to follow "with".
    pub edges: &'static [&'static str],
    /// Things users do, phrased to follow "when".
    pub actions: &'static [&'static str],
    pub personas: &'static [&'static str],
    /// Triggers for a notification, phrased to follow "when".
    pub events: &'static [&'static str],
    pub metrics: &'static [&'static str],
    pub dashboards: &'static [&'static str],
    /// Source code: a package and class names for stack traces.
    pub package: &'static str,
    pub classes: &'static [&'static str],
}

pub(super) const WEB_SHOP: Domain = Domain {
    labels: &["webshop", "checkout", "payments", "storefront", "search", "catalog", "frontend"],
    apps: &[
        "the web shop",
        "the storefront",
        "ShopFront",
        "the checkout",
        "shop.example.com",
        "the B2C site",
        "our online store",
    ],
    screens: &[
        "cart page",
        "checkout",
        "product detail page",
        "order history",
        "wishlist",
        "search results page",
        "category page",
        "account page",
        "order confirmation email",
        "returns portal",
    ],
    features: &[
        "Apple Pay",
        "gift cards",
        "a size guide",
        "guest checkout",
        "product comparison",
        "wishlist sharing",
        "buy now pay later",
        "saved payment methods",
        "back-in-stock alerts",
        "click and collect",
        "product reviews with photos",
        "a promo code field",
        "delivery time slots",
        "order tracking by SMS",
        "bundle discounts",
    ],
    calcs: &[
        "tax",
        "VAT",
        "shipping cost",
        "the discount",
        "the order total",
        "loyalty points",
        "the delivery date estimate",
        "the refund amount",
        "stock level",
    ],
    segments: &[
        "Canadian addresses",
        "orders with more than 20 items",
        "customers with a + in their email",
        "EU customers paying in GBP",
        "Safari on iOS 17",
        "orders split across two warehouses",
        "addresses in Puerto Rico",
        "carts with a gift card and a coupon",
        "products on clearance",
        "returning customers",
    ],
    entities: &["orders", "products", "customers", "invoices", "returns", "coupons", "carts"],
    fields: &[
        "postcode",
        "VAT number",
        "phone number",
        "discount code",
        "delivery instructions",
        "company name",
        "house number",
    ],
    edges: &[
        "an apostrophe in the surname",
        "a 10-digit postcode",
        "emoji in the gift message",
        "a German umlaut in the street name",
        "a negative quantity",
        "a coupon that expired today",
        "an empty basket",
        "100+ line items",
    ],
    actions: &[
        "applying a discount code",
        "switching currency",
        "removing the last item from the cart",
        "paying with PayPal",
        "changing the delivery address",
        "reordering from order history",
        "logging in at checkout",
    ],
    personas: &["customer", "store manager", "merchandiser", "customer service agent", "returning shopper"],
    events: &[
        "an order ships",
        "a refund is issued",
        "an item is back in stock",
        "a payment fails",
        "a return is received",
    ],
    metrics: &["conversion rate", "average order value", "cart abandonment rate", "return rate", "revenue per visitor"],
    dashboards: &["sales dashboard", "merchandising dashboard", "weekly trading report", "checkout funnel dashboard"],
    package: "com.example.shop",
    classes: &[
        "TaxCalculator",
        "CheckoutController",
        "CartService",
        "PriceEngine",
        "OrderRepository",
        "ShippingQuote",
        "CouponValidator",
    ],
};

pub(super) const PAYROLL: Domain = Domain {
    labels: &["payroll", "hr-portal", "timesheets", "people-app", "leave", "backend"],
    apps: &[
        "the HR portal",
        "PayCore",
        "the payroll app",
        "PeopleHub",
        "the timesheet tool",
        "the self-service portal",
    ],
    screens: &[
        "payslip view",
        "timesheet screen",
        "leave request form",
        "employee profile",
        "approvals inbox",
        "org chart",
        "expense claim form",
        "year-end summary",
    ],
    features: &[
        "bulk approval of timesheets",
        "a parental leave type",
        "overtime rules per shift",
        "payslip download as PDF",
        "delegation of approvals during holidays",
        "a second bank account for salary split",
        "reminders for missing timesheets",
        "half-day leave",
        "mileage claims",
        "a team absence calendar",
        "e-signature for contracts",
        "multi-currency expenses",
    ],
    calcs: &[
        "overtime pay",
        "holiday accrual",
        "net pay",
        "pension contribution",
        "the tax code",
        "sick pay",
        "the pro-rata salary",
        "expense reimbursement",
    ],
    segments: &[
        "employees hired mid-month",
        "part-time staff",
        "staff in Scotland",
        "contractors paid weekly",
        "employees on two contracts",
        "people returning from parental leave",
        "the night shift",
        "employees with a leap-day birthday",
    ],
    entities: &["payslips", "timesheets", "leave requests", "employees", "expense claims", "contracts"],
    fields: &[
        "IBAN",
        "national insurance number",
        "tax code",
        "cost centre",
        "date of birth",
        "emergency contact",
        "job title",
    ],
    edges: &[
        "a double-barrelled surname",
        "a start date on a public holiday",
        "more than 60 hours in a week",
        "a negative expense line",
        "an accented first name",
        "a cost centre that was renamed",
    ],
    actions: &[
        "submitting a timesheet",
        "approving leave",
        "uploading a receipt",
        "changing bank details",
        "opening last year's payslip",
        "booking a half day",
    ],
    personas: &["employee", "line manager", "payroll administrator", "HR business partner", "contractor"],
    events: &[
        "a leave request is approved",
        "a payslip is published",
        "a timesheet is overdue",
        "a contract is about to expire",
    ],
    metrics: &["overtime hours", "absence rate", "headcount by department", "average time to approve"],
    dashboards: &["HR dashboard", "payroll summary report", "absence dashboard", "headcount report"],
    package: "com.example.payroll",
    classes: &[
        "PayslipGenerator",
        "AccrualCalculator",
        "TimesheetService",
        "LeavePolicy",
        "NetPayEngine",
        "ExpenseValidator",
    ],
};

pub(super) const MOBILE: Domain = Domain {
    labels: &["ios", "android", "mobile", "app", "push", "ux"],
    apps: &["the iOS app", "the Android app", "the mobile app", "FitTrack", "the app", "the companion app"],
    screens: &[
        "login screen",
        "home feed",
        "settings screen",
        "onboarding flow",
        "notifications tab",
        "profile screen",
        "workout summary",
        "sharing sheet",
        "widget",
    ],
    features: &[
        "dark mode",
        "biometric login",
        "offline mode",
        "push notification preferences",
        "a home screen widget",
        "Apple Watch support",
        "sharing to Instagram stories",
        "in-app feedback",
        "landscape mode on tablets",
        "a streak counter",
        "deep links from emails",
        "Sign in with Apple",
    ],
    calcs: &[
        "step count",
        "the badge count",
        "calories burned",
        "the weekly streak",
        "the distance in miles",
        "the sync timestamp",
    ],
    segments: &[
        "Android 14 devices",
        "iPads in split view",
        "users with large font size",
        "Samsung phones",
        "users who signed up with Google",
        "devices set to Arabic",
        "iPhone SE",
        "users in time zones east of UTC",
    ],
    entities: &["workouts", "notifications", "user profiles", "devices", "achievements"],
    fields: &["display name", "birthday", "height", "avatar", "email address"],
    edges: &[
        "a very long display name",
        "airplane mode on",
        "low power mode",
        "an emoji in the username",
        "the system font at 200%",
    ],
    actions: &[
        "rotating the phone",
        "tapping a push notification",
        "switching accounts",
        "restoring from backup",
        "pausing a workout",
        "opening a deep link",
    ],
    personas: &["user", "premium subscriber", "coach", "new user"],
    events: &["a goal is reached", "a friend comments", "the subscription renews", "a sync fails"],
    metrics: &["daily active users", "crash-free sessions", "day-7 retention", "push opt-in rate"],
    dashboards: &["app analytics dashboard", "retention dashboard", "release health dashboard"],
    package: "com.example.fittrack",
    classes: &[
        "WorkoutSyncManager",
        "FeedViewModel",
        "LoginViewController",
        "StepCounter",
        "PushHandler",
        "ProfileRepository",
    ],
};

pub(super) const DATA_PLATFORM: Domain = Domain {
    labels: &["data-platform", "etl", "dbt", "warehouse", "dashboards", "airflow"],
    apps: &[
        "the data warehouse",
        "the ingestion pipeline",
        "the BI layer",
        "Lakehouse",
        "the dbt project",
        "the metrics API",
    ],
    screens: &[
        "revenue report",
        "customer 360 view",
        "data catalog",
        "self-service query page",
        "lineage view",
        "freshness monitor",
    ],
    features: &[
        "column-level lineage",
        "a data freshness indicator",
        "incremental loads for fact_orders",
        "row-level security by region",
        "a data quality alert on null rates",
        "CDC ingestion from the CRM",
        "a semantic layer for finance metrics",
        "PII tagging in the catalog",
        "scheduled exports to S3",
        "a staging area for partner files",
    ],
    calcs: &[
        "revenue totals",
        "row counts",
        "the currency conversion",
        "week numbers",
        "the deduplication",
        "churn rate",
        "the late-arriving facts",
    ],
    segments: &[
        "orders from before 2019",
        "timestamps around the DST change",
        "the APAC region",
        "customers merged in the CRM",
        "partitions with more than 1M rows",
        "null country codes",
    ],
    entities: &["events", "rows", "tables", "partitions", "pipelines", "datasets"],
    fields: &["customer_id", "order_ts", "country_code", "currency", "event_type", "revenue_eur"],
    edges: &[
        "a schema change upstream",
        "null values in the join key",
        "a file with a BOM",
        "late-arriving data",
        "a quoted newline in the CSV",
    ],
    actions: &[
        "backfilling a month",
        "running the dbt build",
        "querying across regions",
        "refreshing the extract",
        "exporting more than 100k rows",
    ],
    personas: &["analyst", "data engineer", "finance controller", "data scientist"],
    events: &["a pipeline fails", "a table is late", "a schema changes", "a quality check fails"],
    metrics: &["net revenue", "gross margin", "active customers", "orders per region", "refund ratio"],
    dashboards: &[
        "finance dashboard",
        "exec KPI dashboard",
        "regional sales report",
        "marketing attribution dashboard",
    ],
    package: "com.example.lakehouse",
    classes: &["IngestJob", "SchemaRegistry", "DedupTransform", "PartitionWriter", "MetricsResolver"],
};

pub(super) const INTERNAL_TOOLS: Domain = Domain {
    labels: &["intranet", "internal-tools", "self-service", "portal"],
    apps: &[
        "the intranet",
        "the IT self-service portal",
        "the room booking tool",
        "the asset register",
        "the internal wiki",
    ],
    screens: &["home page", "room booking calendar", "asset list", "request form", "search page", "news feed"],
    features: &[
        "booking desks by floor plan",
        "a QR code check-in for rooms",
        "bulk import of assets",
        "an approval step for software requests",
        "a mobile view of the canteen menu",
        "search across wiki and tickets",
        "a visitor registration form",
    ],
    calcs: &["room availability", "asset depreciation", "the booking duration", "the office occupancy figure"],
    segments: &[
        "meeting rooms on the 4th floor",
        "assets with no owner",
        "recurring bookings",
        "users in the Singapore office",
    ],
    entities: &["bookings", "assets", "news posts", "visitors", "desks"],
    fields: &["asset tag", "room name", "serial number", "cost centre"],
    edges: &["a booking across midnight", "a serial number with lowercase letters", "a room name with a slash"],
    actions: &[
        "booking a recurring meeting",
        "cancelling a booking",
        "exporting the asset list",
        "searching for a colleague",
    ],
    personas: &["employee", "office manager", "IT admin", "receptionist"],
    events: &["a booking is cancelled", "a visitor arrives", "an asset warranty expires"],
    metrics: &["desk utilisation", "room no-show rate", "assets per employee"],
    dashboards: &["facilities dashboard", "asset report", "office occupancy report"],
    package: "com.example.intranet",
    classes: &["BookingService", "AssetImporter", "RoomCalendar", "VisitorController"],
};

/// All product domains, used for Value items and for outages of a product.
pub(super) const DOMAINS: &[&Domain] = &[&WEB_SHOP, &PAYROLL, &MOBILE, &DATA_PLATFORM, &INTERNAL_TOOLS];

pub(super) const FIRST_NAMES: &[&str] = &[
    "Anna", "Priya", "Tomasz", "Chen", "Fatima", "Luca", "Sofia", "James", "Aisha", "Mateo", "Yuki", "Olga", "Kwame",
    "Emma", "Raj", "Ingrid", "Diego", "Mei", "Jonas", "Amara", "Pierre", "Hannah", "Omar", "Lena", "Sipho", "Carlos",
    "Nadia", "Ben", "Zainab", "Mikko", "Elif", "Daniel", "Ana", "Kofi", "Sarah", "Wei", "Marta", "Tom", "Leila",
    "Aaron",
];

pub(super) const LAST_NAMES: &[&str] = &[
    "Kowalski",
    "Natarajan",
    "Nowak",
    "Wang",
    "Haddad",
    "Rossi",
    "Garcia",
    "Smith",
    "Okafor",
    "Fernandez",
    "Tanaka",
    "Ivanova",
    "Mensah",
    "Johansson",
    "Patel",
    "Berg",
    "Lopez",
    "Lin",
    "Schmidt",
    "Diallo",
    "Dubois",
    "Miller",
    "Farouk",
    "Weber",
    "Dlamini",
    "Silva",
    "Petrova",
    "Cohen",
    "Hussain",
    "Virtanen",
    "Yilmaz",
    "Murphy",
    "Costa",
    "Asante",
    "Brown",
    "Zhang",
    "Novak",
    "Clarke",
    "Rahman",
    "Fischer",
];

pub(super) const DEPTS: &[&str] = &[
    "finance",
    "marketing",
    "warehouse",
    "customer service",
    "payroll",
    "sales",
    "legal",
    "procurement",
    "engineering",
    "logistics",
    "HR",
    "design",
];

pub(super) const SITES: &[&str] = &[
    "Berlin office",
    "Leeds warehouse",
    "Lisbon office",
    "Chicago DC",
    "head office",
    "Dublin store",
    "Warsaw hub",
    "Singapore office",
    "Manchester call centre",
    "Toronto office",
    "Madrid store",
    "Rotterdam depot",
];

pub(super) const REGIONS: &[&str] = &["EMEA", "North America", "APAC", "the UK", "Germany", "the Nordics", "LATAM"];

pub(super) const HOSTS: &[&str] = &[
    "web-prod-07",
    "app-eu-2",
    "k8s-node-14",
    "api-gw-01",
    "batch-03",
    "fs01",
    "jenkins-02",
    "wp-intranet-01",
    "sftp-partner-1",
    "etl-worker-5",
    "cache-prod-2",
    "lb-ext-01",
];

pub(super) const DB_HOSTS: &[&str] = &[
    "pg-prod-03",
    "ora-hr-01",
    "mysql-shop-02",
    "sqlprd14",
    "pg-analytics-1",
    "mongo-app-2",
    "redshift-main",
    "pg-payroll-02",
];

pub(super) const DATABASES: &[&str] =
    &["shopdb", "payroll", "hrprod", "analytics", "crm", "inventory", "appusers", "billing"];

pub(super) const TABLES: &[&str] = &[
    "orders",
    "customers",
    "payroll_runs",
    "employees",
    "fact_sales",
    "dim_customer",
    "invoices",
    "stock_levels",
    "user_devices",
    "leave_balances",
];

pub(super) const SHARES: &[&str] = &[
    "the Finance share (\\\\fs01\\finance)",
    "the Marketing SharePoint site",
    "the S: drive",
    "the HR folder on Google Drive",
    "the Legal Teams channel",
    "the procurement mailbox",
    "the shared Payroll mailbox",
    "the Design Figma team",
    "the Q3 budget folder",
    "the Confluence space OPS",
];

pub(super) const GROUPS: &[&str] = &[
    "grp-finance-ro",
    "grp-payroll-admins",
    "shop-dashboard-viewers",
    "vpn-users",
    "github-engineering",
    "aws-readonly",
    "tableau-creators",
    "jira-service-agents",
    "grp-sales-emea",
    "bi-analysts",
];

pub(super) const MAILING_LISTS: &[&str] = &[
    "all-staff-berlin",
    "dl-marketing-emea",
    "engineering-announce",
    "finance-month-end",
    "sales-leads",
    "it-changes",
    "warehouse-shift-leads",
    "security-alerts",
];

pub(super) const IT_APPS: &[&str] = &[
    "Outlook",
    "Teams",
    "SharePoint",
    "Jira",
    "Confluence",
    "SAP",
    "Salesforce",
    "Workday",
    "Zoom",
    "Slack",
    "the intranet",
    "Okta",
    "Google Drive",
    "Tableau",
];

pub(super) const SOFTWARE: &[&str] = &[
    "Visio",
    "Adobe Acrobat Pro",
    "Tableau Desktop",
    "IntelliJ IDEA",
    "Figma",
    "Power BI Pro",
    "Microsoft Project",
    "Camtasia",
    "SnagIt",
    "DBeaver",
    "Miro",
    "Zoom Webinar",
    "Adobe Photoshop",
    "MATLAB",
];

pub(super) const DEVICES: &[&str] = &[
    "laptop",
    "MacBook",
    "ThinkPad T14",
    "docking station",
    "monitor",
    "headset",
    "iPhone",
    "keyboard",
    "webcam",
    "Surface Pro",
    "desk phone",
    "barcode scanner",
];

pub(super) const PRINTERS: &[&str] = &[
    "the printer on the 3rd floor",
    "PRN-BER-02",
    "the label printer in the warehouse",
    "the big printer by reception",
    "the colour printer in finance",
];

pub(super) const CERTS: &[&str] = &[
    "*.shop.example.com",
    "api.payroll.example.com",
    "vpn.example.com",
    "intranet.example.local",
    "sftp.example.com",
    "mobile-api.example.com",
    "sso.example.com",
];

pub(super) const FQDNS: &[&str] = &[
    "status.example.com",
    "partners.example.com",
    "reports.example.com",
    "grafana.internal",
    "new-shop.example.com",
    "mail.example.com",
];

pub(super) const JOBS: &[&str] = &[
    "the nightly payroll export",
    "the stock sync job",
    "the dbt_daily DAG",
    "the invoice batch",
    "the backup job on fs01",
    "the CRM import",
    "the price feed import",
];

pub(super) const FOLDERS: &[&str] = &[
    "the Contracts folder",
    "my Documents folder",
    "the Q2 board pack",
    "the shared Marketing assets folder",
    "the Payroll 2024 folder",
    "a deleted Confluence page",
    "my mailbox items from last week",
];

pub(super) const HOWTOS: &[&str] = &[
    "export my payslips as PDF",
    "set up an out-of-office reply",
    "connect to the VPN from home",
    "share my calendar with my team",
    "change my bank details in the HR portal",
    "add a signature in Outlook",
    "book a meeting room for an external visitor",
    "recover an old version of an Excel file",
    "install the printer driver on a Mac",
    "find the expense policy",
    "forward my desk phone to my mobile",
    "request a new laptop",
    "see who approved my leave",
];

pub(super) const DAYS: &[&str] =
    &["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the 14th", "the 28th", "month end", "next Monday"];

pub(super) const TIMES: &[&str] = &[
    "2am",
    "about 9:40",
    "this morning",
    "lunchtime",
    "the deploy at 14:00",
    "midnight",
    "8am CET",
    "around 6pm yesterday",
];

pub(super) const LANGUAGES: &[&str] =
    &["German", "French", "Polish", "Spanish", "Japanese", "Portuguese", "Dutch", "Arabic"];

pub(super) const EXT_SYSTEMS: &[&str] =
    &["Salesforce", "SAP", "HubSpot", "Xero", "Zendesk", "Shopify", "NetSuite", "Slack"];

pub(super) const BROWSERS: &[&str] = &["Safari", "Firefox", "Edge", "Chrome on Android", "Safari on iPad"];

pub(super) const PROJECTS: &[&str] =
    &["Project Falcon", "the pricing pilot", "the new BI stack", "the Q4 campaign", "the SAP migration"];
