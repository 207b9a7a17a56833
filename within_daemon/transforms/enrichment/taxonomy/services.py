"""Service and big-ticket topics of the taxonomy, and ``other`` (data only).

Finance, software, education, jobs, real estate, automotive: topics where the ad sells a
service, a contract or a large purchase, and ``other``: the topics the tier-1 list leaves out
(charity, politics, legal, dating, ...), listed so they do not fall into the nearest listed
topic. The weights and how a keyword is matched are described in :mod:`..taxonomy`; this module
only lists the words.
"""

from __future__ import annotations

from typing import Final

from within_daemon.transforms.enrichment.taxonomy.weights import GOOD, HINT, STRONG, WEAK

SERVICES: Final[dict[str, dict[float, tuple[str, ...]]]] = {
    "finance": {
        STRONG: (
            "rewards card", "travel card", "travel rewards", "bonus miles",
            "loan", "loans", "mortgage", "refinance", "credit card", "credit score", "banking",
            "savings account", "checking account", "investing", "investment", "stocks",
            "portfolio", "retirement", "401k", "401(k)", "ira", "insurance", "apr", "apy",
            "interest rate", "debt", "crypto", "bitcoin", "broker", "brokerage", "etf", "etfs",
            "dividend", "pension", "overdraft", "fdic", "tax return", "taxes", "annuity",
            "home equity", "auto loan", "car insurance", "life insurance", "personal loan",
            "cash back", "cashback", "wealth", "financial advisor", "commission-free",
            "fixed-rate", "bank account", "debit card", "credit union", "mortgage rates",
            "robo-advisor", "financial planning", "net worth", "tax filing", "irs", "payday loan",
            "cash advance", "homeowners insurance",
            "renters insurance", "roth", "hsa", "estate planning", "car loan", "student loans",
            "insurance quote",
        ),
        GOOD: (
            "expense", "expenses", "budgeting", "spending",
            "bank", "credit", "invest", "tax", "financial", "finance", "fund", "funds", "trading",
            "trades", "deposit", "budget", "money", "fees", "no fees", "rates", "interest",
            "equity", "yield", "high-yield", "advisor", "accounting", "bookkeeping", "payroll",
            "premium", "quote", "get a quote", "quotes", "consolidate", "insured", "lender",
            "lending", "borrow", "credit limit", "annual fee", "balance transfer",
            "stock", "shares", "market", "markets", "returns",
        ),
        WEAK: (
            "save", "savings", "earn", "payment", "payments", "account", "transfer",
            "monthly payment", "income", "plan", "compare", "coverage", "covered", "property tax",
            # Retail ads offer these too: evidence for finance only with other words.
            "financing", "0% apr", "installments", "buy now pay later", "interest-free",
        ),
        HINT: ("cash", "pay", "free"),
    },
    "software": {
        STRONG: (
            "run payroll", "payroll software",
            "software", "saas", "crm", "project management", "automate", "automation", "workflow",
            "workflows", "integration", "integrations", "api", "dashboard", "vpn", "antivirus",
            "password manager", "passwords", "cybersecurity", "hosting", "website builder",
            "no-code", "low-code", "plugin", "browser extension", "deploy", "devops", "sdk",
            "open source", "encrypted", "invoicing", "spreadsheet", "developers", "tasks",
            "video editing", "helpdesk", "help desk", "ticketing system", "email marketing",
            "landing page builder", "cms", "erp", "hr software", "time tracking",
            "scheduling software", "cloud storage", "file sharing", "video conferencing",
            "kubernetes", "observability", "uptime", "web app", "mobile app", "free plan",
            "per user", "per seat", "app store", "google play",
        ),
        GOOD: (
            "app", "apps", "platform", "cloud", "analytics", "install", "download", "teams",
            "collaboration", "productivity", "security", "backup", "template", "templates",
            "editor", "browser", "ai", "chatbot", "database", "server", "subscription", "servers",
            "users", "b2b", "enterprise", "monitoring", "logs", "logins", "login",
            "ai-powered", "copilot", "online tool", "extension", "plugins", "desktop", "macos",
            "linux", "version",
        ),
        WEAK: (
            "tool", "tools", "data", "team", "code", "online", "track", "plan", "startup",
            "sign up",
            "start trial", "try free", "free trial", "pricing", "ios", "android", "mac",
            "small business",
        ),
        HINT: ("digital", "smart"),
    },
    "education": {
        STRONG: (
            "become a certified", "certificate program", "technician program", "trade school",
            "course", "courses", "degree", "university", "college", "mba", "bachelor", "masters",
            "master's", "diploma", "tutoring", "tutor", "bootcamp", "curriculum", "enroll",
            "enrollment", "admission", "admissions", "tuition", "scholarship", "campus",
            "semester", "students", "student", "test prep", "sat", "act", "gmat", "gre",
            "homework", "lessons", "e-learning", "online learning", "accredited", "instructors",
            "preschool", "kindergarten", "financial aid", "learn a language", "academy", "school",
            "online degree", "phd", "doctorate", "continuing education", "learn to code",
            "coding bootcamp", "tutors", "learners", "k-12", "textbook", "textbooks",
            "study guide", "flashcards", "lecture", "lectures", "classroom", "educators",
            "graduates",
        ),
        GOOD: (
            "learn", "learning", "class", "classes", "lesson", "certificate", "certification",
            "teachers", "teacher", "study", "exam", "skills", "upskill", "masterclass",
            "self-paced", "math", "reading", "spanish", "french", "language", "graduate",
            "online program", "educational", "education", "webinar", "workshop", "job guarantee",
            "grade", "grades", "credits", "syllabus", "certified course", "online courses",
            "language app", "fluent", "fluency", "vocabulary", "grammar",
        ),
        WEAK: ("kids", "ages", "training", "program", "mentor", "beginner"),
        HINT: ("guarantee",),
    },
    "jobs_careers": {
        STRONG: (
            "teach english online", "teach english abroad", "set your own hours",
            "hiring", "now hiring", "we're hiring", "job", "jobs", "career", "careers", "resume",
            "cv", "recruiter", "recruiters", "recruiting", "recruitment", "employment", "employer",
            "job openings", "openings", "full-time", "part-time", "freelance", "internship",
            "linkedin", "job search", "staffing", "salary", "sign-on bonus", "career change",
            "join our team", "roles", "work from home", "weekly pay", "paid weekly", "per hour",
            "hourly", "shifts", "interviews", "interview", "wanted", "job fair", "job alert",
            "job alerts", "hiring now", "hiring event", "no experience", "no experience needed",
            "cdl", "truck driver jobs", "caregiver jobs", "nursing jobs", "teaching jobs",
            "remote jobs", "side hustle", "temporary jobs", "seasonal jobs", "overtime",
            "paid time off", "pto", "onboarding", "apply in minutes", "job listing",
            "job listings", "job seekers", "jobseekers", "employees", "employee",
        ),
        GOOD: (
            "apply", "apply now", "apply today", "hire", "positions", "position", "candidates",
            "talent", "benefits", "remote", "workforce", "entry-level", "warehouse", "coach",
            "work", "schedule", "paid training", "on your schedule", "your own schedule",
            "flexible hours", "drive with us", "gig", "temp", "temporary", "seasonal", "pay rate",
            "competitive pay", "team members", "openings near you", "qualifications",
            "requirements", "caregiver", "caregivers", "nanny", "nurse", "vacancy", "vacancies",
        ),
        WEAK: ("earn", "experience", "team", "skills"),
        HINT: ("opportunity",),
    },
    "real_estate": {
        STRONG: (
            "real estate", "realtor", "realty", "homes for sale", "home for sale",
            "house for sale", "listings", "listing", "property", "properties", "apartment",
            "apartments", "condo", "condos", "for rent", "rental", "rentals", "landlord", "tenant",
            "tenants", "open house", "bedrooms", "sq ft", "square feet", "acres", "home value",
            "home valuation", "valuation", "townhomes", "townhome", "townhouse",
            "new construction", "floor plans", "floor plan", "move-in", "sell your house",
            "sell your home", "hoa", "realtors", "first-time buyer", "first-time buyers",
            "first-time homebuyer", "first-time homebuyers", "down payment", "closing costs",
            "pre-approved", "move-in ready", "luxury condos", "office space",
            "commercial real estate", "vacation home", "land for sale", "lots for sale", "sq. ft.",
            "2br", "1br", "3br", "studio apartment", "sublet", "roommate", "roommates",
            "move-in special", "self storage", "real estate agent", "listing agent", "home buyers",
            "home sellers", "homebuyers", "homeowners", "home prices",
        ),
        GOOD: (
            "homes", "rent", "leasing", "agent", "agents", "buyers", "sellers", "neighborhood",
            "neighbourhood", "amenities", "mortgage", "houses", "home", "beds", "baths",
            "community amenities", "lease", "tour today",
        ),
        WEAK: ("community", "renovated", "backyard", "pool", "luxury", "tour", "tours"),
        HINT: (),
    },
    "automotive": {
        STRONG: (
            "car", "cars", "vehicle", "vehicles", "suv", "truck", "trucks", "sedan",
            "electric vehicle", "ev", "dealership", "dealers", "dealer", "test drive", "mpg",
            "horsepower", "tires", "tyres", "oil change", "automotive", "auto", "car wash",
            "detailing", "brakes", "auto parts", "mechanic", "roadside assistance", "4x4", "awd",
            "pickup", "minivan", "convertible", "coupe", "motorcycle", "certified pre-owned",
            "pre-owned", "used cars", "trade-in", "towing", "off-road", "toyota", "honda", "ford",
            "chevy", "chevrolet", "bmw", "audi", "mercedes", "tesla", "nissan", "hyundai", "kia",
            "jeep", "subaru", "volkswagen", "porsche", "lexus", "mazda", "volvo", "dashcam",
            "dash cam", "floor mats", "car accessories", "wiper blades", "collision repair",
            "body shop", "transmission", "muffler", "lease deals", "showroom", "trim level",
            "crossover", "car dealership", "car seat covers",
        ),
        GOOD: (
            "drive", "driving", "engine", "motors", "motor", "lease", "inventory", "miles",
            "mileage", "gas", "model year", "warranty", "service", "hybrid", "lineup", "fuel",
            "fuel economy", "msrp", "apr financing", "test-drive", "trims", "towing capacity",
        ),
        WEAK: ("road", "parts", "repair", "financing"),
        HINT: ("new", "offer", "offers"),
    },
    "other": {
        STRONG: (
            "wedding photography", "wedding photographer", "photographer", "donate your car",
            "car donation",
            "donate", "donation", "donations", "charity", "nonprofit", "non-profit", "volunteer",
            "petition", "vote", "election", "ballot", "church", "faith", "prayer", "worship",
            "sunday service", "dating", "singles", "lawyer", "lawyers", "attorney", "attorneys",
            "personal injury", "lawsuit", "legal", "wedding", "weddings", "funeral", "fundraiser",
            "fundraising", "sponsor a child", "senate", "congress", "mayor", "governor",
            "democrat", "democrats", "republican", "republicans", "campaign donation", "bible",
            "ministry", "mosque", "synagogue", "spiritual", "astrology", "horoscope", "psychic",
            "tarot", "dating app", "matchmaking", "divorce", "custody", "immigration", "cremation",
            "obituary", "baby", "newborn", "diapers", "stroller", "parenting", "toddler",
            "maternity", "greeting cards", "invitations", "stationery", "office supplies",
            "marketing agency", "seo", "consulting", "law firm", "legal advice",
        ),
        GOOD: (
            "community", "relationship", "relationships", "nonprofits", "candidates",
            "policy makers", "community service",
        ),
        WEAK: (),
        HINT: (),
    },
}
