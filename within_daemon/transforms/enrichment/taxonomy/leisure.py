"""Leisure and wellbeing topics of the taxonomy (data only).

Travel, food and drink, entertainment, sports and outdoors, health and fitness: topics of free
time and of looking after oneself. The weights and how a keyword is matched are described in
:mod:`..taxonomy`; this module only lists the words.
"""

from __future__ import annotations

from typing import Final

from within_daemon.transforms.enrichment.taxonomy.weights import GOOD, HINT, STRONG, WEAK

LEISURE: Final[dict[str, dict[float, tuple[str, ...]]]] = {
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
}
