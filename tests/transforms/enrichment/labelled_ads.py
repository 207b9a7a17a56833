"""Hand-labelled ad texts for the topic classifier: a tuning half and a held-out half.

Every ad was written for this file (no real advertiser's copy) and labelled with the
IAB-style tier-1 topic an analyst would file it under. About half of each topic's ads are
"hard": the words point at a neighbouring topic (pet insurance, a fitness app, running
shoes, a school's open house, travel nursing jobs), the text is terse, or it is not English.

``TUNING_ADS`` were the only ads looked at while the taxonomy's keywords were chosen and
weighted. ``HOLDOUT_ADS`` were written after the taxonomy was frozen and were never used to
change it, so accuracy on them estimates accuracy on unseen ads.
"""

from __future__ import annotations

from typing import NamedTuple


class LabelledAd(NamedTuple):
    topic: str
    headline: str
    description: str
    cta: str
    landing_page_url: str

    def record(self) -> dict[str, str]:
        """The ad as the text fields of a normalized ad record."""
        return {
            "headline": self.headline, "description": self.description, "cta": self.cta,
            "landing_page_url": self.landing_page_url,
        }


TUNING_ADS: tuple[LabelledAd, ...] = (
    # apparel
    LabelledAd(
        "apparel", "Winter Coats Up to 50% Off",
        "Wool-blend overcoats and quilted puffers in sizes XS–3X. Free returns on every order.",
        "Shop Now", "https://www.northlinegoods.com/collections/outerwear",
    ),
    LabelledAd(
        "apparel", "The linen shirt you'll live in all summer",
        "Breathable, garment-dyed and cut for a relaxed fit. Eight colours, now restocked.",
        "Shop Now", "https://harbour-and-pine.com/mens/shirts/linen",
    ),
    LabelledAd(
        "apparel", "Step into comfort",
        "Our best-selling leather loafers are back in tan and black. Handmade in Portugal.",
        "Shop Now", "https://www.cordwainerco.com/loafers",
    ),
    LabelledAd(
        "apparel", "Neue Kollektion: Strickpullover aus Merinowolle",
        "Weich, warm und nachhaltig produziert. Jetzt versandkostenfrei bestellen.",
        "Jetzt shoppen", "https://www.wollwerk.de/damen/pullover",
    ),
    # travel
    LabelledAd(
        "travel", "Fly to Lisbon from $89",
        "Round-trip fares on spring dates. Book by Sunday and pick your seat free.",
        "Book Now", "https://www.skyhopair.com/deals/lisbon",
    ),
    LabelledAd(
        "travel", "Your all-inclusive escape to Cancún",
        "5 nights, beachfront suite and airport transfers included. Kids stay free through "
        "June.",
        "See Packages", "https://www.sunward-vacations.com/mexico/cancun",
    ),
    LabelledAd(
        "travel", "Pack less, see more",
        "Carry-on suitcases built for overhead bins on every major airline. Lifetime "
        "warranty.",
        "Shop Luggage", "https://www.roamcase.com/carry-on",
    ),
    # finance
    LabelledAd(
        "finance", "Refinance and lower your monthly payment",
        "Check today's mortgage rates in minutes, with no impact on your credit score.",
        "Check Rates", "https://www.harborlend.com/refinance",
    ),
    LabelledAd(
        "finance", "Invest in what you believe in",
        "Build a portfolio of stocks and ETFs from $1. Commission-free trades.",
        "Get Started", "https://app.stakeup.com/signup",
    ),
    LabelledAd(
        "finance", "Car insurance quotes from 20+ providers",
        "Drivers who switch save $500 on average. Compare in 3 minutes.",
        "Get a Quote", "https://www.coverwise.com/auto",
    ),
    LabelledAd(
        "finance", "Taxes done right, for less",
        "File your federal return free and get your max refund, guaranteed.",
        "File Now", "https://www.taxbee.com/free-edition",
    ),
    # food_drink
    LabelledAd(
        "food_drink", "Dinner's sorted: 16 free meals",
        "Chef-designed recipes and fresh ingredients delivered weekly. Skip or cancel anytime.",
        "Get Offer", "https://www.freshcrate.com/plans",
    ),
    LabelledAd(
        "food_drink", "Pizza night? We deliver in 30 minutes",
        "Large two-topping pizzas for $9.99 when you order online.",
        "Order Now", "https://order.tonyspizzeria.com",
    ),
    LabelledAd(
        "food_drink", "Protein that tastes like dessert",
        "Cookies-and-cream protein bars with 20g protein and 1g sugar. Try the variety pack.",
        "Shop Now", "https://www.barnone.com/variety",
    ),
    LabelledAd(
        "food_drink", "Zero proof. Full flavour.",
        "Alcohol-free craft beer brewed in small batches. Free delivery on 24-packs.",
        "Shop Now", "https://www.clearheadbrewing.com/shop",
    ),
    # education
    LabelledAd(
        "education", "Earn your MBA online",
        "AACSB-accredited, 100% online, finish in as little as 18 months. Apply by March 1.",
        "Request Info", "https://online.westbrook.edu/mba",
    ),
    LabelledAd(
        "education", "Become a data analyst in 6 months",
        "Live online bootcamp with mentor support and a job guarantee. Next cohort starts "
        "May 6.",
        "Apply Now", "https://www.launchacademy.io/data-analytics",
    ),
    LabelledAd(
        "education", "Open house: Saturday 10am",
        "Meet our teachers, tour the campus and learn about financial aid for fall admission.",
        "RSVP", "https://www.stbrendanacademy.org/admissions/open-house",
    ),
    # software
    LabelledAd(
        "software", "Project management your team will actually use",
        "Plan sprints, track tasks and automate handoffs. Free for teams up to 10.",
        "Try Free", "https://www.taskloop.com/signup",
    ),
    LabelledAd(
        "software", "Stop reusing passwords",
        "Generate, store and autofill strong passwords on every device. End-to-end encrypted.",
        "Download", "https://www.keyvault.app/download",
    ),
    LabelledAd(
        "software", "Invoices that chase themselves",
        "Send invoices, accept card payments and send automatic reminders. Syncs with your "
        "accounting.",
        "Sign Up", "https://www.billsy.com/invoicing",
    ),
    LabelledAd(
        "software", "Edit videos like a pro, right in your browser",
        "Auto captions, AI background removal and 4K export. No download needed.",
        "Try It Free", "https://www.clipforge.com/editor",
    ),
    # home_garden
    LabelledAd(
        "home_garden", "The sofa that fits through any door",
        "Modular, washable covers and delivered in boxes. Free shipping and 100-night trial.",
        "Shop Sofas", "https://www.nookliving.com/sofas",
    ),
    LabelledAd(
        "home_garden", "Kitchen remodel? Get 3 free estimates",
        "Licensed, insured contractors near you for cabinets, countertops and flooring.",
        "Get Estimates", "https://www.fixpros.com/kitchen-remodel",
    ),
    LabelledAd(
        "home_garden", "Sleep cooler tonight",
        "Breathable bamboo sheets that stay cool all night. Rated 4.8 by 20,000 sleepers.",
        "Shop Bedding", "https://www.drifthome.com/sheets",
    ),
    LabelledAd(
        "home_garden", "Candles that smell like a cabin in the woods",
        "Hand-poured soy candles in cedar, pine and smoked vanilla.",
        "Shop Candles", "https://www.emberandoak.com/candles",
    ),
    # health_fitness
    LabelledAd(
        "health_fitness", "Get stronger in 20 minutes a day",
        "Guided strength workouts you can do at home, no equipment needed. Join 2 million "
        "members.",
        "Start Free Trial", "https://www.liftly.app/workouts",
    ),
    LabelledAd(
        "health_fitness", "Talk to a therapist this week",
        "Licensed therapists online, by video or chat. Covered by many insurance plans.",
        "Get Matched", "https://www.calmline.com/therapy",
    ),
    LabelledAd(
        "health_fitness", "Sleep better, wake up sharper",
        "Our magnesium night drink helps you fall asleep naturally. No melatonin hangover.",
        "Shop Now", "https://www.restful.co/night",
    ),
    # beauty
    LabelledAd(
        "beauty", "Clear skin in 8 weeks",
        "Dermatologist-formulated acne treatment with 2% salicylic acid. Try it risk-free.",
        "Shop Now", "https://www.purelyskin.com/acne",
    ),
    LabelledAd(
        "beauty", "Salon-quality color at home",
        "Custom hair color matched to you, delivered with everything you need.",
        "Find My Shade", "https://www.huehaus.com/hair-color",
    ),
    LabelledAd(
        "beauty", "Book your brow lamination",
        "Perfect brows for 6 weeks. New clients get 20% off their first visit.",
        "Book Now", "https://www.browbar.studio/book",
    ),
    # automotive
    LabelledAd(
        "automotive", "The all-new 2025 Horizon SUV",
        "Standard AWD, 38 MPG and a 10-year powertrain warranty. Schedule a test drive today.",
        "Schedule Test Drive", "https://www.horizonmotors.com/suv",
    ),
    LabelledAd(
        "automotive", "Tires installed, same day",
        "Buy 3 tires, get the 4th free plus free alignment check.",
        "Find Tires", "https://www.roadgripcenter.com/tires",
    ),
    LabelledAd(
        "automotive", "Built for the weekend",
        "Our off-road trucks come with a 4x4 package and towing capacity up to 12,000 lbs.",
        "Build Yours", "https://www.ridgelinetrucks.com/build",
    ),
    # electronics
    LabelledAd(
        "electronics", "Noise-cancelling headphones, 40 hours of battery",
        "Crystal-clear calls, multipoint Bluetooth and a case that fits in your pocket.",
        "Shop Now", "https://www.sonique.com/headphones",
    ),
    LabelledAd(
        "electronics", "Upgrade to a 4K TV for the big game",
        "65-inch QLED smart TVs from $499. Free delivery and wall mounting.",
        "Shop TVs", "https://www.bigscreenbarn.com/tvs",
    ),
    LabelledAd(
        "electronics", "Capture every adventure",
        "Waterproof action camera with 5.3K video and HyperSmooth stabilisation.",
        "Shop Cameras", "https://www.trekcam.com",
    ),
    LabelledAd(
        "electronics", "Mesh Wi-Fi for every corner of your home",
        "No more dead zones. Set up in minutes with the app.",
        "Learn More", "https://www.meshly.com/system",
    ),
    # entertainment
    LabelledAd(
        "entertainment", "Stream the new season now",
        "All 10 episodes of the hit drama are here. Start your free month.",
        "Watch Now", "https://www.streamly.tv/shows/the-reach",
    ),
    LabelledAd(
        "entertainment", "Tickets on sale Friday",
        "The Midnight Owls world tour comes to Chicago on June 14. Get presale access.",
        "Get Tickets", "https://www.ticketpoint.com/midnight-owls",
    ),
    LabelledAd(
        "entertainment", "Build your kingdom. Defend it.",
        "Play the strategy game millions are hooked on. Free to play on iOS and Android.",
        "Install Now", "https://play.castlecraft.game",
    ),
    LabelledAd(
        "entertainment", "Comedy night at The Vault",
        "Five stand-up comics, two drinks minimum, one unforgettable night. Thursdays at 8.",
        "Book Seats", "https://www.thevaultclub.com/comedy",
    ),
    # real_estate
    LabelledAd(
        "real_estate", "Homes for sale in Austin",
        "Browse 2,400 listings with virtual tours, price history and school ratings.",
        "Search Homes", "https://www.nestfinder.com/austin-tx",
    ),
    LabelledAd(
        "real_estate", "Luxury apartments, now leasing",
        "Studios to 3 bedrooms with rooftop pool and pet-friendly amenities. 1 month free.",
        "Schedule a Tour", "https://www.theparkline.com/floor-plans",
    ),
    LabelledAd(
        "real_estate", "Open house this Sunday, 1–4pm",
        "4-bed colonial on a quiet cul-de-sac with a renovated kitchen and big backyard.",
        "Get Directions", "https://www.halsteadhomes.com/listings/42-elm",
    ),
    # pets
    LabelledAd(
        "pets", "Fresh dog food, made for your dog",
        "Human-grade recipes portioned for your pup's needs and delivered to your door.",
        "Get Started", "https://www.goodpup.com/plans",
    ),
    LabelledAd(
        "pets", "The litter box that cleans itself",
        "Self-cleaning, odor-sealed and app-connected, for multi-cat homes.",
        "Shop Now", "https://www.purrfectbox.com",
    ),
    LabelledAd(
        "pets", "Pet insurance from $10 a month",
        "Up to 90% back on vet bills for accidents and illness.",
        "Get a Quote", "https://www.wagwell.com/insurance",
    ),
    LabelledAd(
        "pets", "Grooming appointments this week",
        "Bath, trim and nail clipping by certified groomers. First groom 20% off.",
        "Book Now", "https://www.fluffandbuff.com/grooming",
    ),
    # sports_outdoors
    LabelledAd(
        "sports_outdoors", "Run farther in our lightest shoe yet",
        "Responsive foam and a breathable knit upper for race day and every training run.",
        "Shop Running", "https://www.stridelab.com/running",
    ),
    LabelledAd(
        "sports_outdoors", "Gear up for camping season",
        "Tents, sleeping bags and camp stoves from the brands you trust, up to 40% off.",
        "Shop Camping", "https://www.basecampoutfitters.com/camping",
    ),
    LabelledAd(
        "sports_outdoors", "Season tickets are on sale",
        "Catch every home game at Riverside Stadium. Lock in 2025 prices now.",
        "Buy Tickets", "https://www.riversidefc.com/season-tickets",
    ),
    LabelledAd(
        "sports_outdoors", "Trail-ready from day one",
        "Waterproof hiking boots with grippy soles and a 1-year guarantee.",
        "Shop Hiking", "https://www.summitsupply.com/hiking-boots",
    ),
    # jobs_careers
    LabelledAd(
        "jobs_careers", "Now hiring warehouse associates",
        "Full-time and part-time shifts, $21/hour, weekly pay and benefits from day one.",
        "Apply Now", "https://jobs.shipfast.com/warehouse",
    ),
    LabelledAd(
        "jobs_careers", "Nurses: earn up to $3,200/week",
        "Travel nursing contracts in 40 states with housing stipend and 24/7 recruiter "
        "support.",
        "View Jobs", "https://www.carelink-staffing.com/travel-nurse",
    ),
    LabelledAd(
        "jobs_careers", "Drive with us. Earn on your schedule.",
        "Sign up to deliver in your city and cash out instantly. Must have a car and valid "
        "licence.",
        "Sign Up", "https://www.dashride.com/drivers",
    ),
    # other
    LabelledAd(
        "other", "Help families in crisis this winter",
        "Your donation provides meals, blankets and shelter. Gifts matched until Dec 31.",
        "Donate", "https://www.hopeharbor.org/give",
    ),
    LabelledAd(
        "other", "Injured in an accident?",
        "Free consultation with experienced personal injury attorneys. No fee unless we win.",
        "Call Now", "https://www.harlanlaw.com/injury",
    ),
    LabelledAd(
        "other", "Vote Yes on Measure 4",
        "Fund our parks and libraries without raising property taxes.",
        "Learn More", "https://www.yeson4.org",
    ),
)

HOLDOUT_ADS: tuple[LabelledAd, ...] = (
    # apparel
    LabelledAd(
        "apparel", "Meet your new favourite jumper",
        "Chunky knit, oversized and soft enough to sleep in. Available in oat, moss and "
        "charcoal.",
        "Shop the Drop", "https://www.woolandwillow.co.uk/jumpers",
    ),
    LabelledAd(
        "apparel", "Workwear that works as hard as you",
        "Stretch chinos and wrinkle-free button-downs for the office, the commute and after.",
        "Browse", "https://www.officeready.com/men",
    ),
    LabelledAd(
        "apparel", "Fall's most-wanted boots are here",
        "Chelsea, combat and knee-high styles in suede and leather. Free exchanges, always.",
        "Shop Boots", "https://www.stepandstone.com/boots",
    ),
    LabelledAd(
        "apparel", "Les soldes d'hiver commencent",
        "Jusqu'à -50 % sur les manteaux, robes et chaussures. Livraison offerte dès 60 €.",
        "Découvrir", "https://www.maison-lune.fr/soldes",
    ),
    # travel
    LabelledAd(
        "travel", "Paris in spring, from $599",
        "Flight + 4-star hotel packages with breakfast daily. Prices per person, based on two "
        "travelling.",
        "View Deals", "https://www.jetsetgo.com/paris",
    ),
    LabelledAd(
        "travel", "Your dream vacation, one payment at a time",
        "Book now, pay over 12 months with 0% interest on select resorts in Jamaica and Aruba.",
        "Explore Resorts", "https://www.islandhopper.com/pay-monthly",
    ),
    LabelledAd(
        "travel", "Swap the office for the coast",
        "Ocean-view cottages with fast wifi, weekly rates and self check-in.",
        "Check Availability", "https://www.coastalkeys.com",
    ),
    LabelledAd(
        "travel", "Go further by rail",
        "Scenic train journeys through the Alps, with first-class seats and a dining car.",
        "Plan Your Journey", "https://www.alpinerail.ch/en/journeys",
    ),
    # finance
    LabelledAd(
        "finance", "Get paid 2 days early",
        "Direct deposit with no monthly fees and free ATMs nationwide. Open an account in 5 "
        "minutes.",
        "Open Account", "https://www.corebank.com/checking",
    ),
    LabelledAd(
        "finance", "Is your credit holding you back?",
        "See your score free and get personalised tips to raise it. No card required.",
        "See My Score", "https://www.scorely.com",
    ),
    LabelledAd(
        "finance", "Protect what matters most",
        "Term life coverage from $15/month. No medical exam for healthy applicants up to age "
        "50.",
        "Get My Price", "https://www.everlife.com/term",
    ),
    LabelledAd(
        "finance", "Small business funding in 24 hours",
        "Lines of credit up to $250K with simple, transparent pricing. Apply without affecting "
        "your credit.",
        "See Options", "https://www.fundbridge.com/business",
    ),
    # food_drink
    LabelledAd(
        "food_drink", "Tacos Tuesday just got better",
        "$2 street tacos and $5 margaritas all day at every location.",
        "Find a Location", "https://www.casaverde.com/specials",
    ),
    LabelledAd(
        "food_drink", "Meal prep? Never heard of her.",
        "Heat-and-eat lunches made by chefs, ready in 2 minutes. 50% off your first box.",
        "Get 50% Off", "https://www.readyplate.com",
    ),
    LabelledAd(
        "food_drink", "The oat milk baristas actually like",
        "Foams like dairy, tastes like nothing else. Find us in the chilled aisle.",
        "Find in Store", "https://www.goldenoat.com/barista",
    ),
    LabelledAd(
        "food_drink", "Holiday gift boxes they'll devour",
        "Handmade truffles, salted caramels and toffee, shipped in gift-ready tins.",
        "Send a Gift", "https://www.cocoaandco.com/gifts",
    ),
    # education
    LabelledAd(
        "education", "Finish your degree on your schedule",
        "Transfer up to 90 credits and complete your bachelor's online. Classes start every 8 "
        "weeks.",
        "Get Started", "https://www.summitstate.edu/online",
    ),
    LabelledAd(
        "education", "Teach your toddler to read",
        "Phonics games and stories that grow with your child. Loved by 3 million parents.",
        "Start Free", "https://www.readybird.com",
    ),
    LabelledAd(
        "education", "Master Excel in a weekend",
        "24 bite-sized video lessons with downloadable workbooks. Lifetime access.",
        "Enroll Now", "https://www.skillnest.com/excel",
    ),
    LabelledAd(
        "education", "Study abroad in Spain this summer",
        "Earn 6 university credits in Salamanca while living with a host family.",
        "Apply", "https://www.globalstudies.org/spain",
    ),
    # software
    LabelledAd(
        "software", "Your inbox, finally organized",
        "AI sorts, summarizes and drafts replies so you hit inbox zero daily. Works with Gmail "
        "and Outlook.",
        "Add to Gmail", "https://www.mailmind.ai",
    ),
    LabelledAd(
        "software", "Payroll in minutes, not hours",
        "Run payroll, file taxes and manage benefits for your team from one place.",
        "See Plans", "https://www.paystack-hr.com/payroll",
    ),
    LabelledAd(
        "software", "Catch bugs before your users do",
        "Error monitoring and session replay for web and mobile apps. Free up to 5K events.",
        "Start Monitoring", "https://www.bugwatch.io",
    ),
    LabelledAd(
        "software", "Design together in real time",
        "Whiteboards, wireframes and prototypes your whole team can edit at once.",
        "Get Started Free", "https://www.canvaslab.com",
    ),
    # home_garden
    LabelledAd(
        "home_garden", "Make small spaces feel bigger",
        "Space-saving storage beds, wall shelves and fold-away desks for apartments.",
        "Shop Small Space", "https://www.roomwise.com/small-spaces",
    ),
    LabelledAd(
        "home_garden", "Spring lawn care, done for you",
        "Fertilizing, weed control and aeration plans starting at $39 per visit.",
        "Get a Free Quote", "https://www.greenacrelawns.com",
    ),
    LabelledAd(
        "home_garden", "The last frying pan you'll buy",
        "Tri-ply stainless steel, oven-safe to 500°F, lifetime warranty.",
        "Shop Cookware", "https://www.heftkitchen.com/pans",
    ),
    LabelledAd(
        "home_garden", "Leaky faucet? Book a plumber in 60 seconds",
        "Upfront pricing, same-day appointments, background-checked pros.",
        "Book Now", "https://www.handyfix.com/plumbing",
    ),
    # health_fitness
    LabelledAd(
        "health_fitness", "See a doctor today, from your couch",
        "Same-day video visits for colds, rashes, UTIs and more. Most insurance accepted.",
        "Start a Visit", "https://www.docnow.com",
    ),
    LabelledAd(
        "health_fitness", "Run your first 5K",
        "A 9-week couch-to-5K plan with audio coaching. Beginners welcome.",
        "Download Free", "https://www.strideup.app",
    ),
    LabelledAd(
        "health_fitness", "Pilates reformer classes near you",
        "Intro offer: 3 classes for $49. Small groups, expert instructors.",
        "Book Intro Offer", "https://www.coreflow.studio/intro",
    ),
    LabelledAd(
        "health_fitness", "Gut health, simplified",
        "One daily scoop with prebiotics, probiotics and greens. 30-day money-back guarantee.",
        "Try It", "https://www.greenroot.com/daily-greens",
    ),
    # beauty
    LabelledAd(
        "beauty", "Your curls, but better",
        "Sulfate-free shampoo and curl cream made for waves, curls and coils.",
        "Shop Curls", "https://www.coilcare.com",
    ),
    LabelledAd(
        "beauty", "Glowing skin starts at night",
        "Our overnight retinol cream smooths fine lines while you sleep.",
        "Shop Now", "https://www.nightbloomskin.com",
    ),
    LabelledAd(
        "beauty", "Nails done in 10 minutes",
        "Salon-quality press-ons in 40 designs. Reusable up to 5 times.",
        "Shop Designs", "https://www.tipsy-nails.com",
    ),
    LabelledAd(
        "beauty", "Smell expensive for less",
        "Inspired-by versions of designer scents at a fraction of the price. Long-lasting eau "
        "de parfum.",
        "Find Your Match", "https://www.dupescent.com",
    ),
    # automotive
    LabelledAd(
        "automotive", "0% APR for 60 months on select models",
        "Plus $1,500 bonus cash on the 2025 Trailhawk. See dealer for details.",
        "View Inventory", "https://www.apexauto.com/offers",
    ),
    LabelledAd(
        "automotive", "Check engine light on?",
        "Free diagnostic scan at any location. ASE-certified technicians.",
        "Find a Shop", "https://www.pitcrewauto.com/diagnostics",
    ),
    LabelledAd(
        "automotive", "Your next car, delivered",
        "Shop 20,000 used cars online, get financing and have it delivered with a 7-day "
        "return.",
        "Shop Cars", "https://www.drivedirect.com",
    ),
    LabelledAd(
        "automotive", "Protect your paint",
        "Ceramic coating and paint protection film, installed in one day.",
        "Get Pricing", "https://www.glossguard.com",
    ),
    # electronics
    LabelledAd(
        "electronics", "Big sound, small speaker",
        "Portable, waterproof and 24 hours of playtime. Pair two for stereo.",
        "Shop Speakers", "https://www.boomtube.com",
    ),
    LabelledAd(
        "electronics", "The phone that takes night photos like daylight",
        "Pro-grade camera, all-day battery, and 7 years of updates.",
        "Pre-Order Now", "https://www.orbit-mobile.com/x9",
    ),
    LabelledAd(
        "electronics", "Never miss a delivery again",
        "Video doorbell with 2K HD, package detection and two-way talk.",
        "Shop Doorbells", "https://www.porchguard.com",
    ),
    LabelledAd(
        "electronics", "Back-to-school tech deals",
        "Save on Chromebooks, tablets and noise-cancelling earbuds.",
        "Shop Deals", "https://www.techhaven.com/back-to-school",
    ),
    # entertainment
    LabelledAd(
        "entertainment", "The series everyone's talking about",
        "Season 2 drops Friday. Catch up on Season 1 now.",
        "Watch Now", "https://www.nightfall.tv",
    ),
    LabelledAd(
        "entertainment", "Live at the Arena: Saturday night",
        "The legendary rock band's farewell show. Limited floor seats remain.",
        "Buy Tickets", "https://www.arenaseats.com/farewell",
    ),
    LabelledAd(
        "entertainment", "Solve the mystery before time runs out",
        "Immersive escape rooms for groups of 2-8. Perfect for birthdays and team building.",
        "Book a Room", "https://www.lockedin.fun",
    ),
    LabelledAd(
        "entertainment", "Read anything, anywhere",
        "Unlimited ebooks and magazines for $9.99 a month. Cancel anytime.",
        "Start Reading", "https://www.pageturn.com",
    ),
    # real_estate
    LabelledAd(
        "real_estate", "Thinking of selling?",
        "Find out what homes on your street sold for and get a free market analysis.",
        "Get My Report", "https://www.bluedoorrealty.com/sell",
    ),
    LabelledAd(
        "real_estate", "Brand-new 2-bedroom condos by the lake",
        "From $389,900 with designer finishes and a private marina. Sales center open daily.",
        "Book a Tour", "https://www.harborpointe.com",
    ),
    LabelledAd(
        "real_estate", "First-time buyer? Start here",
        "Get pre-approved, find an agent and see down payment assistance programs in your "
        "state.",
        "Get Started", "https://www.firstkey.homes",
    ),
    LabelledAd(
        "real_estate", "Office space for growing teams",
        "Flexible leases from 5 to 500 desks in downtown Denver.",
        "Book a Tour", "https://www.deskspace.co/denver",
    ),
    # pets
    LabelledAd(
        "pets", "Vet visits, without the waiting room",
        "Chat with a licensed vet 24/7 about your pet's symptoms for $0 with membership.",
        "Start Chat", "https://www.pawmed.com",
    ),
    LabelledAd(
        "pets", "Is your cat bored?",
        "Interactive toys and puzzle feeders that keep indoor cats busy.",
        "Shop Toys", "https://www.whiskerworks.com",
    ),
    LabelledAd(
        "pets", "Good boy approved",
        "Durable rope toys and chews for power chewers. Replaced free if destroyed.",
        "Shop Now", "https://www.toughpaw.com",
    ),
    LabelledAd(
        "pets", "50% off everything", "", "Shop Now", "https://www.ollieandfern.com/dog-toys",
    ),
    # sports_outdoors
    LabelledAd(
        "sports_outdoors", "Tee times from $29",
        "Book twilight rounds at 300+ golf courses near you.",
        "Book a Tee Time", "https://www.linkspass.com",
    ),
    LabelledAd(
        "sports_outdoors", "Built for big mountain days",
        "Insulated ski jackets and bibs tested on Alaskan descents.",
        "Shop Ski", "https://www.ridgeandpow.com/ski",
    ),
    LabelledAd(
        "sports_outdoors", "Pickleball paddles for every level",
        "Carbon fiber paddles, balls and bags. Free shipping over $50.",
        "Shop Paddles", "https://www.dinkshop.com",
    ),
    LabelledAd(
        "sports_outdoors", "Catch the big game live",
        "Stream every NFL game this season on any device. No cable required.",
        "Start Free Trial", "https://www.gridironpass.com",
    ),
    # jobs_careers
    LabelledAd(
        "jobs_careers", "Get paid to shop",
        "Join our team of personal shoppers. Flexible hours, same-day pay.",
        "Apply in Minutes", "https://www.cartcrew.com/shoppers",
    ),
    LabelledAd(
        "jobs_careers", "CDL drivers: $90K+ first year",
        "Home weekly, new trucks and a $5,000 sign-on bonus.",
        "Apply Now", "https://www.longhaulcareers.com",
    ),
    LabelledAd(
        "jobs_careers", "Hiring registered nurses",
        "Night shift RNs at St. Mary's. Relocation assistance and tuition reimbursement.",
        "View Openings", "https://careers.stmarys.org/nursing",
    ),
    LabelledAd(
        "jobs_careers", "Land your dream tech job",
        "Practice coding interviews with engineers from top companies.",
        "Book a Mock Interview", "https://www.interviewloop.com",
    ),
    # other
    LabelledAd(
        "other", "Sponsor a child for $1 a day",
        "Give a child clean water, school supplies and hope.",
        "Sponsor Now", "https://www.brightfutures.org/sponsor",
    ),
    LabelledAd(
        "other", "Find your person",
        "Thoughtful matches based on what matters to you. Free to join.",
        "Join Now", "https://www.kindredhearts.com",
    ),
    LabelledAd(
        "other", "Plan the perfect baby shower",
        "Invitations, decorations and favors in 50 themes.",
        "Shop Themes", "https://www.partybloom.com/baby-shower",
    ),
    LabelledAd(
        "other", "Your voice matters",
        "Register to vote in under 2 minutes. Election day is November 5.",
        "Register Now", "https://www.voteready.org",
    ),
    LabelledAd(
        "other", "Learn more", "", "Learn More",
        "https://example.com/lp?id=123&utm_source=fb",
    ),
    LabelledAd(
        "apparel", "冬のセール開催中", "人気のスニーカーが最大50%オフ。今すぐチェック！",
        "今すぐ購入", "https://www.kutsu-ya.jp/sale",
    ),
)

LABELLED_ADS: tuple[LabelledAd, ...] = TUNING_ADS + HOLDOUT_ADS
