"""Shopping topics of the taxonomy (data only).

Apparel, beauty, electronics, home and garden, pets: what people buy for themselves, their
homes and their animals. The weights and how a keyword is matched are described in
:mod:`..taxonomy`; this module only lists the words.
"""

from __future__ import annotations

from typing import Final

from within_daemon.transforms.enrichment.taxonomy.weights import GOOD, HINT, STRONG, WEAK

SHOPPING: Final[dict[str, dict[float, tuple[str, ...]]]] = {
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
}
