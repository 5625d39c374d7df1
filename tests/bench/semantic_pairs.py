"""The semantic cache benchmark's question pairs, built from hand-written phrasings and entities:
`python -m tests.bench.semantic_pairs` writes `tests/bench/data/semantic_pairs.json`.

- **paraphrases** (should share an answer): one question in two wordings ("What is the capital of
  Austria?" / "Which city is the capital of Austria?");
- **near misses** (must not): the same wording about a neighbouring subject ("capital of Austria"
  / "capital of Australia"), or another question about the same subject ("capital of Austria" /
  "population of Austria"), or a neighbouring task ("reverse a list" / "sort a list").

Each pair's wordings are chosen by a seeded generator: the file is the same on every run."""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).parent / "data" / "semantic_pairs.json"

# country, a neighbouring (similar-named or nearby) country
COUNTRIES = [
    ("Austria", "Australia"),
    ("Sweden", "Switzerland"),
    ("Slovakia", "Slovenia"),
    ("Niger", "Nigeria"),
    ("Guinea", "Guyana"),
    ("Iran", "Iraq"),
    ("Gambia", "Zambia"),
    ("Mali", "Malawi"),
    ("Colombia", "Cambodia"),
    ("Latvia", "Lithuania"),
    ("Norway", "Denmark"),
    ("Peru", "Chile"),
    ("Portugal", "Spain"),
    ("Hungary", "Romania"),
    ("Canada", "Mexico"),
    ("Japan", "South Korea"),
    ("Kenya", "Tanzania"),
    ("Egypt", "Sudan"),
    ("Finland", "Estonia"),
    ("Belgium", "Netherlands"),
    ("Poland", "Czechia"),
    ("Argentina", "Uruguay"),
    ("Thailand", "Vietnam"),
    ("Morocco", "Algeria"),
    ("Greece", "Turkey"),
    ("Ireland", "Iceland"),
    ("India", "Pakistan"),
    ("Brazil", "Bolivia"),
    ("Ghana", "Togo"),
    ("Nepal", "Bhutan"),
    ("Serbia", "Croatia"),
    ("Jordan", "Lebanon"),
    ("Cuba", "Jamaica"),
    ("Italy", "Malta"),
    ("Germany", "France"),
]
COUNTRY_QUESTIONS = {
    "capital": [
        "What is the capital of {x}?",
        "Which city is the capital of {x}?",
        "What's the capital city of {x}?",
        "Tell me the capital of {x}.",
        "Name the capital city of {x}.",
        "What city is {x}'s capital?",
    ],
    "language": [
        "What language is spoken in {x}?",
        "What languages do people speak in {x}?",
        "Which language do they speak in {x}?",
        "What is the official language of {x}?",
    ],
    "currency": [
        "What currency does {x} use?",
        "What is the currency of {x}?",
        "Which money is used in {x}?",
        "What's the official currency in {x}?",
    ],
    "population": [
        "What is the population of {x}?",
        "How many people live in {x}?",
        "How many inhabitants does {x} have?",
        "What's the population of {x} today?",
    ],
    "flag": [
        "What does the flag of {x} look like?",
        "Describe the flag of {x}.",
        "What are the colours of the {x} flag?",
    ],
}
# a programming task, a neighbouring task
TASKS = [
    ("reverse a list", "sort a list"),
    ("read a file line by line", "write a file line by line"),
    ("convert a string to an integer", "convert an integer to a string"),
    ("remove duplicates from a list", "count duplicates in a list"),
    ("merge two dictionaries", "compare two dictionaries"),
    ("check if a key exists in a dictionary", "delete a key from a dictionary"),
    ("get the current date", "get the current time zone"),
    ("split a string by commas", "join a list of strings with commas"),
    ("find the length of a list", "find the largest item in a list"),
    ("make an HTTP GET request", "make an HTTP POST request"),
    ("parse JSON", "generate JSON"),
    ("create a virtual environment", "delete a virtual environment"),
    ("install a package with pip", "uninstall a package with pip"),
    ("copy a file", "move a file"),
    ("list the files in a directory", "create a directory"),
    ("lowercase a string", "uppercase a string"),
    ("round a float", "truncate a float"),
    ("sort a dictionary by value", "sort a dictionary by key"),
    ("flatten a nested list", "transpose a nested list"),
    ("catch an exception", "raise an exception"),
    ("start a thread", "stop a thread"),
    ("open a CSV file", "write a CSV file"),
    ("strip whitespace from a string", "count the words in a string"),
    ("generate a random number", "shuffle a list randomly"),
    ("concatenate two lists", "find the intersection of two lists"),
]
LANGUAGES = ["Python", "JavaScript", "Java", "Go", "Rust"]
TASK_QUESTIONS = [
    "How do I {x} in {lang}?",
    "How can I {x} in {lang}?",
    "What's the best way to {x} in {lang}?",
    "In {lang}, how do you {x}?",
    "What is the {lang} code to {x}?",
]
# a term, a neighbouring term
TERMS = [
    ("photosynthesis", "cellular respiration"),
    ("inflation", "deflation"),
    ("a black hole", "a neutron star"),
    ("machine learning", "deep learning"),
    ("a virus", "a bacterium"),
    ("mitosis", "meiosis"),
    ("weather", "climate"),
    ("an atom", "a molecule"),
    ("a stock", "a bond"),
    ("democracy", "monarchy"),
    ("a comet", "an asteroid"),
    ("DNA", "RNA"),
    ("socialism", "communism"),
    ("an alligator", "a crocodile"),
    ("a recession", "a depression"),
    ("a hurricane", "a tornado"),
    ("a simile", "a metaphor"),
    ("latitude", "longitude"),
    ("a debit card", "a credit card"),
    ("an ape", "a monkey"),
    ("a sonnet", "a haiku"),
    ("speed", "velocity"),
    ("a misdemeanor", "a felony"),
    ("a vaccine", "an antibiotic"),
    ("TCP", "UDP"),
    ("RAM", "ROM"),
    ("a compiler", "an interpreter"),
    ("a mortgage", "a lease"),
    ("baking soda", "baking powder"),
    ("an epidemic", "a pandemic"),
]
TERM_QUESTIONS = [
    "What is {x}?",
    "Can you explain what {x} is?",
    "Explain {x} to me.",
    "What does {x} mean?",
    "Give me a short definition of {x}.",
]
# a book, another book
BOOKS = [
    ("Pride and Prejudice", "Sense and Sensibility"),
    ("War and Peace", "Anna Karenina"),
    ("The Great Gatsby", "Tender Is the Night"),
    ("Moby-Dick", "Billy Budd"),
    ("Hamlet", "Macbeth"),
    ("The Odyssey", "The Iliad"),
    ("Crime and Punishment", "The Idiot"),
    ("1984", "Brave New World"),
    ("Don Quixote", "Robinson Crusoe"),
    ("Jane Eyre", "Wuthering Heights"),
    ("The Hobbit", "The Silmarillion"),
    ("Frankenstein", "Dracula"),
    ("Ulysses", "Dubliners"),
    ("The Trial", "The Castle"),
    ("Dune", "Foundation"),
    ("Emma", "Persuasion"),
    ("Les Misérables", "Madame Bovary"),
    ("Great Expectations", "Oliver Twist"),
    ("The Catcher in the Rye", "Of Mice and Men"),
    ("Beloved", "Invisible Man"),
]
BOOK_QUESTIONS = {
    "author": [
        "Who wrote {x}?",
        "Who is the author of {x}?",
        "Who was {x} written by?",
        "Which writer wrote {x}?",
    ],
    "plot": [
        "What is {x} about?",
        "Summarize the plot of {x}.",
        "Give me a summary of {x}.",
        "What happens in {x}?",
    ],
}
# a dish, a neighbouring dish
DISHES = [
    ("pancakes", "waffles"),
    ("lasagna", "moussaka"),
    ("guacamole", "salsa"),
    ("banana bread", "zucchini bread"),
    ("risotto", "paella"),
    ("hummus", "baba ganoush"),
    ("french toast", "bread pudding"),
    ("chili con carne", "beef stew"),
    ("tiramisu", "panna cotta"),
    ("pad thai", "fried rice"),
    ("gazpacho", "minestrone"),
    ("brownies", "blondies"),
    ("sourdough bread", "rye bread"),
    ("meatballs", "burgers"),
    ("apple pie", "cherry pie"),
    ("omelette", "frittata"),
    ("sushi", "poke"),
    ("mashed potatoes", "potato salad"),
    ("pesto", "tapenade"),
    ("crepes", "blinis"),
]
DISH_QUESTIONS = [
    "How do I make {x}?",
    "What's a good recipe for {x}?",
    "How do you cook {x}?",
    "Give me a recipe for {x}.",
    "How can I make {x} at home?",
]
# an animal, a neighbouring animal
ANIMALS = [
    ("cats", "dogs"),
    ("elephants", "rhinos"),
    ("parrots", "pigeons"),
    ("turtles", "tortoises"),
    ("horses", "donkeys"),
    ("goldfish", "koi"),
    ("rabbits", "hares"),
    ("wolves", "coyotes"),
    ("bees", "wasps"),
    ("frogs", "toads"),
    ("dolphins", "porpoises"),
    ("lions", "tigers"),
    ("owls", "hawks"),
    ("hamsters", "guinea pigs"),
    ("sheep", "goats"),
    ("camels", "llamas"),
    ("crows", "ravens"),
    ("seals", "sea lions"),
    ("alligators", "caimans"),
    ("moths", "butterflies"),
]
ANIMAL_QUESTIONS = {
    "lifespan": [
        "How long do {x} live?",
        "What is the lifespan of {x}?",
        "What's the average life expectancy of {x}?",
        "How many years do {x} usually live?",
    ],
    "diet": [
        "What do {x} eat?",
        "What is the diet of {x}?",
        "What food do {x} eat in the wild?",
        "What are {x} fed?",
    ],
}
# numbers: the same question about another amount (never compared: the numbers differ)
AMOUNTS = [
    ("Convert {n} miles to kilometers.", "How many kilometers are {n} miles?"),
    ("What is {n} degrees Fahrenheit in Celsius?", "Convert {n} °F to Celsius."),
    ("How many seconds are in {n} hours?", "How many seconds does {n} hours have?"),
    ("What is {n} percent of 250?", "Calculate {n}% of 250."),
    ("What is the square root of {n}?", "Compute the square root of {n}."),
]


def _two(rng: random.Random, wordings: list[str]) -> tuple[str, str]:
    a, b = rng.sample(wordings, 2)
    return a, b


def build() -> dict[str, list[list[str]]]:
    rng = random.Random(27)
    paraphrases: list[tuple[str, str, str]] = []
    near: list[tuple[str, str, str]] = []

    def add(kind: str, wordings: list[str], x: str, neighbour: str, **extra: str) -> None:
        a, b = _two(rng, wordings)
        paraphrases.append((kind, a.format(x=x, **extra), b.format(x=x, **extra)))
        c = rng.choice(wordings)
        near.append((kind + "/neighbour", c.format(x=x, **extra), c.format(x=neighbour, **extra)))

    for x, neighbour in COUNTRIES:
        for wordings in COUNTRY_QUESTIONS.values():
            add("country", wordings, x, neighbour)
        relations = rng.sample(list(COUNTRY_QUESTIONS.values()), 2)
        near.append(
            (
                "country/relation",
                rng.choice(relations[0]).format(x=x),
                rng.choice(relations[1]).format(x=x),
            )
        )
    for x, neighbour in TASKS:
        lang = rng.choice(LANGUAGES)
        add("code", TASK_QUESTIONS, x, neighbour, lang=lang)
        other = rng.choice([name for name in LANGUAGES if name != lang])
        wording = rng.choice(TASK_QUESTIONS)
        near.append(
            ("code/language", wording.format(x=x, lang=lang), wording.format(x=x, lang=other))
        )
    for x, neighbour in TERMS:
        add("term", TERM_QUESTIONS, x, neighbour)
    for x, neighbour in BOOKS:
        for wordings in BOOK_QUESTIONS.values():
            add("book", wordings, x, neighbour)
        near.append(
            (
                "book/relation",
                rng.choice(BOOK_QUESTIONS["author"]).format(x=x),
                rng.choice(BOOK_QUESTIONS["plot"]).format(x=x),
            )
        )
    for x, neighbour in DISHES:
        add("recipe", DISH_QUESTIONS, x, neighbour)
    for x, neighbour in ANIMALS:
        for wordings in ANIMAL_QUESTIONS.values():
            add("animal", wordings, x, neighbour)
        near.append(
            (
                "animal/relation",
                rng.choice(ANIMAL_QUESTIONS["lifespan"]).format(x=x),
                rng.choice(ANIMAL_QUESTIONS["diet"]).format(x=x),
            )
        )
    for first, second in AMOUNTS:
        n, m = rng.sample(range(2, 500), 2)
        paraphrases.append(("amount", first.format(n=n), second.format(n=n)))
        near.append(("amount/number", first.format(n=n), first.format(n=m)))
    return {
        "paraphrases": [list(pair) for pair in paraphrases],
        "near_misses": [list(pair) for pair in near],
    }


def main() -> None:
    pairs = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    lines = ["{"]
    for number, (name, found) in enumerate(pairs.items()):
        lines.append(f' "{name}": [')
        lines += [f"  {json.dumps(pair, ensure_ascii=False)}," for pair in found]
        lines[-1] = lines[-1].rstrip(",")
        lines.append(" ]," if number < len(pairs) - 1 else " ]")
    OUT.write_text("\n".join([*lines, "}"]) + "\n")  # one pair a line
    print(f"{len(pairs['paraphrases'])} paraphrases, {len(pairs['near_misses'])} near misses")


if __name__ == "__main__":
    main()
