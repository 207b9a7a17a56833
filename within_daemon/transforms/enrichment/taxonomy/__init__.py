"""The shipped topic taxonomy: IAB-style tier-1 categories with weighted keywords (data only).

``TAXONOMY`` maps each topic to weight tiers, each tier to keywords or phrases written as
an analyst would type them ("credit card", "t-shirt", "men's"). ``topics.py`` pushes every
keyword through the same tokenizer and light plural stemmer it applies to ad text, so the
singular or the plural is enough, hyphens and apostrophes do not matter, and a phrase is
matched as a run of tokens. A keyword may appear under several topics with different
weights; a longer phrase that matches hides the words inside it ("home equity" counts for
finance only, not also "home" for home_garden), which is how ambiguous words are steered.

The weights are evidence, not probabilities: ``STRONG`` words almost settle the topic on
their own, ``GOOD`` ones usually point the right way, ``WEAK`` ones are shared between
topics, ``HINT`` words only break ties. ``other`` has keywords too (charity, politics,
legal, dating, religion, weddings, parenting, business services): topics the tier-1 list
leaves out, which would otherwise fall into the nearest listed topic.

Keywords come from each category's everyday vocabulary and were tuned only against the
tuning half of ``tests/transforms/enrichment/labelled_ads.py`` and the tuning offer ads of
``offer_urgency_tuning.py``; the held-out halves were written before the tuning rounds.
Editing it is fine, but the held-out accuracy in
``topics.py`` then describes the old data: re-measure, and look at the held-out mistakes
only to report them, or they stop being held out.
"""

from __future__ import annotations

from typing import Final

STRONG: Final = 3.0
GOOD: Final = 2.0
WEAK: Final = 1.0
HINT: Final = 0.5

#: Every topic ``classify_topic`` can return; "other" is the fallback for weak evidence.
TOPICS: Final[tuple[str, ...]] = (
    "apparel", "travel", "finance", "food_drink", "education", "software", "home_garden",
    "health_fitness", "beauty", "automotive", "electronics", "entertainment", "real_estate",
    "pets", "sports_outdoors", "jobs_careers", "other",
)

TAXONOMY: Final[dict[str, dict[float, tuple[str, ...]]]] = {
    "apparel": {
        STRONG: (
            "hiking boots", "hiking shoes", "work boots", "rain boots",
            "running shoes", "running shoe", "trail shoes",
            "dress", "jeans", "denim", "t-shirt", "hoodie", "sweatshirt", "sweater", "blouse",
            "skirt", "leggings", "trousers", "blazer", "lingerie", "bra", "underwear", "swimwear",
            "swimsuit", "bikini", "apparel", "clothing", "clothes", "menswear", "womenswear",
            "streetwear", "outerwear", "knitwear", "loungewear", "pajamas", "handbag", "earrings",
            "necklace", "bracelet", "jewelry", "jewellery", "loafers", "heels", "sandals", "socks",
            "cardigan", "overcoat", "parka", "puffer", "tote", "chinos", "polo shirt",
            "dress shirt", "midi", "maxi dress", "pullover", "shorts", "tank top", "sweatpants",
            "joggers", "trench coat", "romper", "jumpsuit", "kimono", "camisole", "activewear set",
            "shapewear", "bodysuit", "flip-flops", "slippers", "mules", "espadrilles", "cufflinks",
            "tie", "bow tie",
        ),
        GOOD: (
            "shirt", "tee", "jacket", "coat", "pants", "suit", "shoes", "sneakers", "boots",
            "scarf", "beanie", "gloves", "belt", "purse", "wallet", "sunglasses", "fashion",
            "outfit", "wardrobe", "cashmere", "linen", "merino", "silk", "lookbook",
            "new arrivals", "activewear", "tailored", "petite", "plus size", "men's", "women's",
            "collection", "size", "sizes", "wear", "vest", "tops", "bottoms", "dresses", "shoe",
            "footwear", "eyewear", "accessories", "bags", "fits", "oversized", "slim fit",
            "relaxed fit", "waist", "inseam", "hem", "uppers", "insoles", "midsole", "outsole",
        ),
        WEAK: (
            "style", "cotton", "wool", "hat", "cap", "bag", "designer", "ring", "vintage",
            "thrift", "leather", "colour", "color", "colours", "fit",
        ),
        HINT: ("watch",),
    },
    "travel": {
        STRONG: (
            "camper van", "campervan", "camper", "motorhome",
            "chalet", "chalets", "vacation rental", "holiday rental", "holiday home",
            "flight", "airfare", "airline", "hotel", "resort", "vacation", "getaway", "cruise",
            "itinerary", "luggage", "suitcase", "carry-on", "round-trip", "one-way", "fares",
            "all-inclusive", "sightseeing", "hostel", "bed and breakfast", "travel", "trip",
            "tours", "honeymoon", "passport", "car rental", "rental car", "boutique hotel",
            "destination", "flights", "vacation rental", "lodge", "safari", "road trip",
            "city break", "stays", "airbnb", "hotels", "resorts", "vacations", "trip planner",
            "travel deals", "backpacking", "tour operator", "cruises", "airlines", "layover",
            "nonstop",
        ),
        GOOD: (
            "holiday", "beach", "beachfront", "island", "islands", "tour", "airport", "nights",
            "suite", "villa", "stay", "explore", "tourist", "visa", "booking", "book your stay",
            "packages", "destinations", "transfers", "abroad", "overseas", "sightsee", "excursion",
            "excursions", "guided tour", "explore the world", "wanderlust", "departures",
            "getaways",
        ),
        WEAK: (
            "adventure", "weekend", "paris", "rome", "london", "tokyo", "bali", "hawaii", "mexico",
            "caribbean", "italy", "greece", "europe", "japan", "room", "rooms", "check-in",
        ),
        HINT: ("cabin", "book", "summer", "sun", "winter"),
    },
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
    "food_drink": {
        STRONG: (
            "recipe", "recipes", "meal", "meals", "meal kit", "dinner", "lunch", "breakfast",
            "brunch", "restaurant", "pizza", "burger", "sushi", "taco", "coffee", "espresso",
            "latte", "wine", "beer", "cocktail", "whiskey", "snack", "snacks", "chocolate",
            "bakery", "grocery", "groceries", "takeout", "delicious", "tasty", "dessert",
            "ice cream", "sandwich", "salad", "pasta", "bbq", "catering", "brewery", "brewed",
            "foodie", "food", "cookies", "kombucha", "smoothie", "seafood", "roasted", "menu",
            "eat", "dining", "dine", "chef", "cheese", "bread", "wings", "noodles", "ramen",
            "curry", "bagel", "donut", "donuts", "cupcake", "candy", "gummies", "jerky", "cereal",
            "oat milk", "sparkling water", "seltzer", "hard seltzer", "vodka", "gin", "rum",
            "tequila", "bourbon", "prosecco", "champagne", "drive-thru", "happy hour", "appetizer",
            "entree", "combo meal", "meal deal", "foods", "restaurants", "sauce", "spices",
            "baking", "baked",
        ),
        GOOD: (
            "tea", "drink", "drinks", "juice", "soda", "flavor", "flavour", "flavors", "cooking",
            "cook", "ingredients", "fresh", "organic", "vegan", "plant-based", "protein bar",
            "protein bars", "sip", "brew", "craft beer", "cake", "hungry", "beans", "table",
            "kitchen", "grill", "fries", "chicken", "steak", "reservation", "reservations",
            "order ahead", "nuts", "dairy", "milk", "fruit", "veggies", "grocery delivery",
            "takeaway", "eatery", "bistro", "cafe", "café", "kitchen staples", "flavored",
        ),
        WEAK: (
            "delivered", "delivery", "order", "taste", "tastes", "sugar", "farm", "club", "bar",
            "bars",
        ),
        HINT: ("bag", "box", "sweet", "night"),
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
    "home_garden": {
        STRONG: (
            "thermostat", "smart thermostat", "heating bills", "heating", "installation",
            "lawn treatment", "weed control",
            "furniture", "sofa", "sofas", "couch", "mattress", "bedding", "pillows", "rug", "rugs",
            "curtains", "home decor", "decor", "cookware", "garden", "gardening", "gardeners",
            "seeds", "lawn", "mower", "patio", "outdoor furniture", "remodel", "renovation", "diy",
            "flooring", "roofing", "plumbing", "plumber", "hvac", "contractors", "handyman",
            "candles", "candle", "vacuum", "dishwasher", "towels", "bath towels", "sheets",
            "duvet", "interior design", "houseplants", "pest control", "throw pillows",
            "home improvement", "power tools", "bed frame", "dresser", "nightstand",
            "dining table", "bookshelf", "wallpaper", "blinds", "shutters", "faucet", "toilet",
            "water heater", "furnace", "air purifier", "humidifier", "dehumidifier",
            "robot vacuum", "mop", "laundry", "detergent", "cleaning supplies", "landscaping",
            "lawn care", "sprinkler", "compost", "fertilizer", "planter", "planters", "succulents",
            "gutter", "gutters", "siding", "solar panels", "hardware store", "tableware",
            "dinnerware", "cutlery", "bakeware", "pots and pans",
        ),
        GOOD: (
            "home", "house", "kitchen", "bathroom", "bedroom", "lamp", "lighting", "plants",
            "plant", "grow", "vegetables", "paint", "tiles", "roof", "windows", "doors", "fence",
            "deck", "backyard", "yard", "storage", "closet", "shelves", "appliance", "appliances",
            "cleaning", "cleaner", "bed", "drill", "living room", "dining room",
            "bedroom furniture", "blanket", "blankets", "quilt", "sink", "shower", "tile",
            "carpet", "hardwood", "organizer", "organizing", "houseware", "housewares", "homeware",
            "homewares", "flowers", "pots", "mirror", "shelf", "chairs", "chair", "table",
        ),
        WEAK: (
            "cozy", "living", "room", "interior", "outdoor", "tools", "solar", "licensed",
            "insured",
        ),
        HINT: ("spring", "cool", "cabin"),
    },
    "health_fitness": {
        STRONG: (
            "dietitian", "dietitians", "nutritionist",
            "hearing test", "hearing loss", "audiologist",
            "fitness", "workout", "workouts", "gym", "exercise", "yoga", "pilates", "weight loss",
            "lose weight", "nutrition", "supplement", "supplements", "vitamins", "vitamin",
            "wellness", "telehealth", "therapist", "therapy", "mental health", "meditation",
            "mindfulness", "pharmacy", "prescription", "medication", "dental", "dentist",
            "physical therapy", "back pain", "cardio", "hiit", "personal training",
            "personal trainer", "strength training", "keto", "calories", "blood pressure",
            "diabetes", "clinic", "healthcare", "health", "bmi", "ozempic", "semaglutide",
            "hormone", "testosterone", "menopause", "fertility", "urgent care", "primary care",
            "lab tests", "blood test", "physiotherapy", "chiropractor", "hearing aid",
            "hearing aids", "contact lenses", "eye exam", "orthodontist", "invisalign", "aligners",
            "electrolytes", "treadmill", "dumbbells", "kettlebell", "rowing machine", "home gym",
            "stretching", "mobility", "posture", "physician", "physicians", "nurse practitioner",
            "health plan", "health insurance",
        ),
        GOOD: (
            "healthy", "diet", "doctor", "doctors", "strength", "muscle", "trainer", "training",
            "pain", "joint", "recovery", "sleep", "anxiety", "stress", "classes", "protein",
            "medical", "symptoms", "immune", "gut", "probiotic", "weight", "cbd", "massage",
            "hydrate", "heart health", "mental", "wellbeing", "well-being", "fit", "pounds",
            "belly fat", "metabolism", "detox", "patients", "patient",
        ),
        WEAK: ("body", "mind", "energy", "natural", "naturally", "goals", "plan"),
        HINT: ("home",),
    },
    "beauty": {
        STRONG: (
            "makeover", "makeup artist",
            "skincare", "skin care", "serum", "moisturizer", "moisturiser", "cleanser",
            "sunscreen", "spf", "makeup", "lipstick", "mascara", "concealer", "eyeshadow",
            "manicure", "pedicure", "salon", "haircare", "shampoo", "conditioner", "hair color",
            "hair colour", "beauty", "cosmetics", "fragrance", "fragrances", "perfume", "cologne",
            "lashes", "brows", "brow", "wrinkles", "anti-aging", "acne", "retinol", "hyaluronic",
            "facial", "waxing", "barber", "razor", "shave", "shaving", "dermatologist",
            "cruelty-free", "clean beauty", "teeth whitening", "nail polish", "lip", "lips",
            "complexion", "pores", "hair loss", "minoxidil", "hair growth", "hair extensions",
            "wig", "wigs", "blowout", "keratin", "dry shampoo", "toner", "exfoliant", "eye cream",
            "night cream", "face mask", "sheet mask", "highlighter", "bronzer", "primer",
            "setting spray", "makeup brushes", "nail salon", "gel nails", "press-on nails",
            "lash extensions", "botox", "filler", "fillers", "microneedling", "laser hair removal",
            "aesthetics", "medspa", "med spa", "self-tanner", "tanning", "skin-care",
        ),
        GOOD: (
            "skin", "hair", "nails", "nail", "glow", "radiant", "hydration", "lotion", "body wash",
            "deodorant", "palette", "shade", "shades", "scent", "grooming", "beard", "spa",
            "collagen", "foundation", "blush", "vegan", "brush", "brushes", "face", "facials",
            "skin type", "dewy", "matte", "glowing", "firming", "fine lines", "dark spots", "mask",
            "masks",
        ),
        WEAK: ("colour", "color", "look", "treatment", "clear", "gentle"),
        HINT: ("glam",),
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
    "electronics": {
        STRONG: (
            "fitness tracker", "smartwatch", "heart rate monitor",
            "laptop", "laptops", "smartphone", "smartphones", "iphone", "ipad", "tablet",
            "headphones", "earbuds", "bluetooth", "tv", "tvs", "television", "oled", "4k",
            "monitor", "camera", "cameras", "drone", "console", "charger", "smartwatch", "gadget",
            "gadgets", "electronics", "processor", "cpu", "gpu", "graphics card", "ssd", "usb",
            "hdmi", "router", "wi-fi", "wifi", "mesh", "printer", "projector", "soundbar",
            "noise-cancelling", "noise cancelling", "playstation", "xbox", "nintendo", "megapixel",
            "refurbished", "unlocked", "5g", "speaker", "speakers", "smart speaker", "earphones",
            "webcam", "microphone", "gaming laptop", "gaming monitor", "mechanical keyboard",
            "ultrawide", "hz", "refresh rate", "power bank", "portable charger", "charging cable",
            "phone case", "screen protector", "e-reader", "kindle", "smart glasses", "vr headset",
            "3d printer", "electronic", "smart home", "chromebook", "macbook", "galaxy",
        ),
        GOOD: (
            "phone", "phones", "wireless", "battery", "display", "screen", "inch", "inches",
            "smart tv", "audio", "tech", "waterproof", "video", "storage", "gaming", "samsung",
            "sony", "dell", "lenovo", "asus", "apple", "hp", "keyboard", "mic", "cable", "cables",
            "adapter", "plug", "port", "ports", "gb", "tb", "mah", "watts", "resolution", "pixels",
            "sensor", "lens", "zoom", "speakers",
        ),
        WEAK: ("app", "warranty", "power", "smart", "certified"),
        HINT: ("new",),
    },
    "entertainment": {
        STRONG: (
            "modern art", "art museum",
            "movie", "movies", "film", "cinema", "theaters", "theatres", "concert", "concerts",
            "festival", "streaming", "stream", "watch now", "episodes", "episode", "season",
            "trailer", "premiere", "music", "album", "songs", "song", "playlist", "podcast",
            "podcasts", "video game", "esports", "comedy", "broadway", "theater", "theatre",
            "audiobook", "audiobooks", "bestsellers", "anime", "comics", "drama", "documentary",
            "thriller", "horror", "binge", "free to play", "multiplayer", "karaoke", "show",
            "shows", "tv show", "series", "box office", "imax", "live music", "dj", "nightclub",
            "club night", "escape room", "bowling", "arcade", "theme park", "amusement park",
            "water park", "museum", "exhibition", "gallery", "concert tickets", "celebrity",
            "reality show", "sitcom", "on demand", "watchlist", "manga", "webtoon", "bestseller",
            "mobile game", "rpg", "puzzle game", "casino", "slots", "poker", "sweepstakes",
            "bingo", "lottery", "performances", "performance", "musical", "opera", "orchestra",
            "standup", "comedian", "comedians", "streaming service", "movie night",
        ),
        GOOD: (
            "admission",
            "game", "games", "play", "tickets", "tour", "fans", "novel", "magazine", "watch",
            "comics", "ad-free", "night", "band", "artist", "listen", "gig", "party", "zoo", "fan",
            "fandom", "characters", "character", "quest", "player", "gamers", "gamer", "watching",
            "binge-watch", "genre", "starring", "cast", "actors", "show tickets", "audience",
        ),
        WEAK: ("live", "stories", "story", "fun", "favourite", "favorite"),
        HINT: ("ios", "android"),
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
    "pets": {
        STRONG: (
            "pet", "pets", "dog", "dogs", "puppy", "puppies", "pup", "pups", "cat", "cats",
            "kitten", "kittens", "pet food", "dog food", "cat food", "kibble", "litter",
            "litter box", "leash", "vet", "veterinary", "veterinarian", "paw", "paws", "furry",
            "aquarium", "hamster", "reptile", "flea", "heartworm", "pet insurance", "canine",
            "feline", "dog toys", "bark", "pet supplies", "pet store", "pet parents", "pet parent",
            "pet owners", "dog walker", "dog walking", "dog sitter", "pet sitting", "boarding",
            "kennel", "doggy daycare", "dog training", "obedience", "crate", "harness", "chew toy",
            "catnip", "scratching post", "bird seed", "horse", "equine", "saddle", "dog bed",
            "cat tree", "dog treats", "cat litter", "pet-friendly",
        ),
        GOOD: (
            "vaccines", "vaccinations",
            "adopt", "adoption", "rescue", "shelter", "treats", "chews", "fish", "bird", "rabbit",
            "grooming", "fur", "wag", "purr", "groomer", "groomers", "groom", "nail clipping",
            "fetch", "walks", "tail", "tails", "whiskers", "furbaby", "fur baby", "four-legged",
            "best friend", "breeders", "breeder",
        ),
        WEAK: ("toys", "breed"),
        HINT: (),
    },
    "sports_outdoors": {
        STRONG: (
            "gym bag", "race entry", "race day",
            "sports", "football", "soccer", "basketball", "baseball", "tennis", "golf", "hockey",
            "marathon", "cycling", "bike", "bikes", "bicycle", "e-bike", "ebike", "ebikes",
            "mountain bike", "hiking", "hike", "camping", "tent", "tents", "sleeping bags",
            "outdoors", "fishing", "rods", "reels", "bait", "hunting", "kayak", "ski", "skiing",
            "snowboard", "surf", "surfing", "climbing", "athletes", "athletic", "jersey", "league",
            "stadium", "pga", "season tickets", "game day", "racket", "trail", "trails", "runners",
            "running", "nfl", "nba", "mlb", "nhl", "mls", "golf clubs", "tee time", "tee times",
            "fairway", "putting", "cleats", "shin guards", "skate", "skateboard", "snowshoe",
            "ski pass", "lift tickets", "camping gear", "rv", "campground", "campsite",
            "national park", "paddle", "paddleboard", "canoe", "scuba", "diving", "snorkel",
            "archery", "pickleball", "padel", "volleyball", "rugby", "cricket", "f1", "formula 1",
            "ufc", "wrestling", "playoffs", "championship", "tournament", "fantasy football",
            "sportsbook", "sporting goods", "outdoor gear", "trail running",
            "bike shop", "cyclists", "rowing",
        ),
        GOOD: (
            "gear", "equipment", "run", "runner", "race", "outdoor", "backpack",
            "swim", "swimming", "boxing", "martial arts", "team", "match", "ride", "ball", "balls",
            "ticket", "fan", "boots", "waterproof", "lesson", "season", "teams", "coach",
            "coaches", "fitness gear", "shoes for running", "running shoes", "hiking gear",
            "backpacking gear",
            "water bottle", "cooler", "binoculars", "mountain", "mountains", "river", "wilderness",
            "outdoor adventure", "adventure gear",
        ),
        WEAK: ("fitness", "training", "shoe", "hiking boots"),
        HINT: (),
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


#: Topics that are the subject of an ad whenever they are named: a STRONG word of the key
#: topic (a puppy, a cat) turns the listed topics' evidence into evidence for it, because
#: then those words describe the animal's care and food ("wellness plans for puppies",
#: "dental cleanings", "fresh food for dogs", "recipe with salmon"), not a person's. Tuned
#: on ``offer_urgency_tuning.py``.
SUBJECT_TOPICS: Final[dict[str, tuple[str, ...]]] = {
    "pets": ("health_fitness", "food_drink"),
}
