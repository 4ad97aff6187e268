"""Regenerate the sample PDFs in ``examples/books/``: ``python examples/make_sample_books.py``.

Three small books to try the ``pdf`` source with (``alejandria sync pdf examples/books``):

- ``astrologia-para-principiantes.pdf``: Spanish, six chapters with an outline;
- ``home-bread-baking.pdf``: English, five chapters with an outline;
- ``field-notes-on-urban-birds.pdf``: English, 13 pages and no outline (split into page windows).

Only fpdf2's built-in Helvetica is used (with the Windows-1252 encoding, which covers Spanish
accents and typographic quotes), so no font file is needed and nothing is embedded. Dates, producer
and document ids are fixed: running the script again gives byte-identical files.
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

BOOKS_DIR = Path(__file__).resolve().parent / "books"
PRODUCER = "Alejandria examples/make_sample_books.py"


@dataclass(frozen=True)
class Chapter:
    title: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Book:
    filename: str
    title: str
    subtitle: str
    author: str
    language: str
    created: dt.datetime
    chapters: tuple[Chapter, ...]


class SampleBookPdf(FPDF):
    """A plain A5 book page: page number in the footer, nothing on the title page."""

    def footer(self) -> None:
        if self.page_no() == 1:
            return
        self.set_y(-12)
        self.set_font("helvetica", size=8)
        self.cell(0, 6, str(self.page_no()), align="C")


def new_document(title: str, author: str, language: str, created: dt.datetime) -> SampleBookPdf:
    pdf = SampleBookPdf(format=(148, 210))  # A5 in millimetres
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_margins(16, 16, 16)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_lang(language)
    pdf.set_creator(PRODUCER)
    pdf.set_producer(PRODUCER)
    pdf.set_creation_date(created)
    return pdf


def title_page(pdf: FPDF, title: str, subtitle: str, author: str) -> None:
    pdf.add_page()
    pdf.set_y(60)
    pdf.set_font("helvetica", style="B", size=20)
    pdf.multi_cell(0, 10, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("helvetica", style="I", size=12)
    pdf.multi_cell(0, 7, subtitle, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(20)
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 7, author, align="C", new_x="LMARGIN", new_y="NEXT")


def paragraph(pdf: FPDF, text: str) -> None:
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 6.4, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def write_book(book: Book, directory: Path) -> Path:
    """A title page, then each chapter on a new page with an outline entry."""
    pdf = new_document(book.title, book.author, book.language, book.created)
    title_page(pdf, book.title, book.subtitle, book.author)
    for chapter in book.chapters:
        pdf.add_page()
        pdf.start_section(chapter.title, level=0)
        pdf.set_font("helvetica", style="B", size=15)
        pdf.multi_cell(0, 8, chapter.title, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        for text in chapter.paragraphs:
            paragraph(pdf, text)
    path = directory / book.filename
    pdf.output(str(path))
    return path


def write_notes(directory: Path) -> Path:
    """Dated field notes, one per page, with no outline at all."""
    pdf = new_document(
        "Field notes on urban birds", "Ana Okafor", "en", dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    )
    title_page(pdf, "Field notes on urban birds", "A spring notebook from the city", "Ana Okafor")
    for date, place, text in FIELD_NOTES:
        pdf.add_page()
        pdf.set_font("helvetica", style="B", size=12)
        pdf.multi_cell(0, 7, f"{date} \u2014 {place}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        for part in text:
            paragraph(pdf, part)
    path = directory / "field-notes-on-urban-birds.pdf"
    pdf.output(str(path))
    return path


# -- the texts -----------------------------------------------------------------------------

ASTROLOGY = Book(
    filename="astrologia-para-principiantes.pdf",
    title="Astrología para principiantes",
    subtitle="Una guía tranquila para leer tu primera carta natal",
    author="Lucía Fernández",
    language="es",
    created=dt.datetime(2024, 3, 21, 10, 0, tzinfo=dt.UTC),
    chapters=(
        Chapter("Introducción: un lenguaje de símbolos", (
            "Este libro nace de una pregunta que me han hecho cientos de veces en talleres y "
            "consultas: «¿por dónde empiezo?». La astrología tiene fama de ser complicada, llena "
            "de tablas, grados y palabras extrañas. Sin embargo, su idea central es sencilla: "
            "el cielo del momento en que algo comienza se usa como un mapa simbólico de ese "
            "comienzo.",
            "Conviene aclararlo desde la primera página: la astrología no es una ciencia en el "
            "sentido moderno del término, y este libro no pretende demostrar nada. La "
            "propongo como un lenguaje, igual que la mitología o la poesía, que sirve para "
            "ordenar preguntas sobre el carácter, los ritmos de la vida y las decisiones. Lo que "
            "hagas con esas preguntas depende de ti.",
            "A lo largo de los capítulos vamos a construir ese lenguaje pieza a pieza. Primero "
            "veremos qué es una carta natal y qué datos hacen falta para calcularla. Después "
            "repasaremos los signos y sus elementos, los planetas retrógrados, las doce casas y, "
            "por último, las técnicas que usan los astrólogos para hablar del paso del tiempo: "
            "los tránsitos y las progresiones.",
            "Te recomiendo leer con tu propia carta delante. Hoy en día cualquier programa "
            "gratuito la calcula en segundos; lo difícil no es obtener el dibujo, sino saber "
            "mirarlo. Toma notas, vuelve atrás cuando lo necesites y no intentes memorizarlo "
            "todo de una vez.",
        )),
        Chapter("La carta natal", (
            "La carta natal es una fotografía del cielo tomada desde un lugar y en un instante "
            "concretos: el de tu nacimiento. Para calcularla se necesitan tres datos: la fecha, "
            "la hora y la ciudad. La fecha y la ciudad suelen ser fáciles de conseguir; la hora, "
            "en cambio, es el dato que más se equivoca, y de ella dependen el ascendente y las "
            "casas.",
            "El dibujo tiene forma de rueda. El círculo exterior muestra los doce signos del "
            "zodiaco, cada uno de treinta grados. Dentro de esa rueda aparecen los planetas, "
            "representados por pequeños glifos, y unas líneas que los unen entre sí. Esas líneas "
            "son los aspectos: ángulos concretos entre dos planetas, como la conjunción, el "
            "trígono o la cuadratura.",
            "El punto más importante después del Sol y la Luna es el ascendente, el signo que "
            "asomaba por el horizonte este en el momento del nacimiento. Se suele decir que el "
            "Sol describe lo que somos, la Luna lo que necesitamos y el ascendente la manera en "
            "que nos presentamos ante los demás. Es una simplificación, pero resulta útil para "
            "empezar.",
            "Un consejo práctico: antes de interpretar nada, haz un inventario. Anota en qué "
            "signo y en qué casa está cada planeta, cuáles son los aspectos más cerrados y qué "
            "elemento predomina. Ese inventario, escrito a mano, te enseñará más que cualquier "
            "interpretación automática.",
            "Si no conoces tu hora de nacimiento, no pasa nada. Puedes trabajar con una carta "
            "calculada para el mediodía y limitarte a los signos y aspectos de los planetas, "
            "dejando a un lado las casas y el ascendente hasta que consigas el dato exacto.",
        )),
        Chapter("Los signos y los cuatro elementos", (
            "Los doce signos se agrupan en cuatro elementos: fuego, tierra, aire y agua. Aries, "
            "Leo y Sagitario son de fuego y se asocian con el entusiasmo y la iniciativa. Tauro, "
            "Virgo y Capricornio son de tierra: prácticos, constantes, atentos a lo concreto. "
            "Géminis, Libra y Acuario, de aire, hablan de ideas, relaciones e intercambio. "
            "Cáncer, Escorpio y Piscis, de agua, de emociones, memoria e intuición.",
            "Además del elemento, cada signo tiene una modalidad. Los signos cardinales abren "
            "las estaciones y tienden a iniciar; los fijos ocupan el centro de cada estación y "
            "tienden a sostener; los mutables cierran las estaciones y tienden a adaptarse. "
            "Combinar elemento y modalidad da a cada signo su tono particular.",
            "Una forma sencilla de leer el equilibrio de una carta es contar cuántos planetas "
            "hay en cada elemento. Una carta con mucha tierra y poca agua puede describir a "
            "alguien muy eficaz que, sin embargo, tarda en reconocer lo que siente. No se trata "
            "de juzgar: ninguna combinación es mejor que otra, solo distinta.",
        )),
        Chapter("Los planetas retrógrados", (
            "Vistos desde la Tierra, los planetas parecen detenerse de vez en cuando y "
            "retroceder durante unas semanas antes de retomar su camino. Es un efecto óptico, "
            "parecido al de adelantar a un coche en la autopista: por un momento, el otro "
            "vehículo parece ir hacia atrás. A ese movimiento aparente lo llamamos retrogradación.",
            "Mercurio es el planeta retrógrado más famoso, porque lo hace tres o cuatro veces al "
            "año. La tradición asocia esos periodos con malentendidos, retrasos y aparatos que "
            "fallan. Una lectura más útil es verlos como momentos para revisar, corregir y "
            "terminar lo pendiente, más que para estrenar proyectos.",
            "En la carta natal, un planeta retrógrado no es una mala noticia. Suele indicar que "
            "esa función se vive de manera más interior o que madura más tarde. Una Venus "
            "retrógrada, por ejemplo, puede describir a alguien que necesita tiempo para saber "
            "qué valora de verdad en una relación.",
            "Para identificarlos, busca la letra R junto al glifo del planeta. Anota cuántos "
            "tienes y en qué casas están; con la práctica verás que ese pequeño detalle matiza "
            "muchas de las interpretaciones generales que leerás en los manuales.",
        )),
        Chapter("Las casas astrológicas", (
            "Si los planetas dicen qué y los signos dicen cómo, las casas dicen dónde. La rueda "
            "se divide en doce sectores que representan áreas de la vida: la casa I, la persona "
            "y el cuerpo; la II, los recursos; la III, el entorno cercano y la comunicación; la "
            "IV, el hogar y las raíces; la V, la creatividad y el juego; la VI, el trabajo "
            "diario y la salud.",
            "La segunda mitad de la rueda mira hacia los demás: la casa VII habla de la pareja y "
            "los socios; la VIII, de lo compartido y de las crisis; la IX, de los viajes y las "
            "creencias; la X, de la vocación y la imagen pública; la XI, de los amigos y los "
            "proyectos colectivos; y la XII, de lo que queda entre bastidores.",
            "Existen varios sistemas para calcular las casas, como Placidus, Koch o casas "
            "iguales, y cada escuela defiende el suyo. Para empezar basta con elegir uno y "
            "mantenerlo; cambiar de sistema a cada lectura solo produce confusión.",
            "Una casa vacía no significa que esa área de la vida no exista o no importe. Para "
            "leerla se mira el signo que ocupa su cúspide y el planeta que rige ese signo: su "
            "posición en la carta cuenta la historia de la casa vacía.",
        )),
        Chapter("Tránsitos y progresiones", (
            "La carta natal es fija, pero el cielo sigue moviéndose. Los tránsitos comparan la "
            "posición actual de los planetas con la de tu carta: cuando Saturno pasa por encima "
            "de tu Sol natal, por ejemplo, se dice que Saturno transita tu Sol. Los planetas "
            "lentos, de Júpiter a Plutón, marcan los tránsitos que más se notan.",
            "Las progresiones siguen otra lógica, más simbólica: cada día después del "
            "nacimiento representa un año de vida. Así, la Luna progresada recorre la carta en "
            "unos veintiocho años y describe el cambio gradual de nuestras necesidades "
            "emocionales.",
            "Ninguna de estas técnicas sirve para predecir acontecimientos concretos con "
            "seguridad. Funcionan mejor como un calendario de preguntas: ¿qué estoy "
            "construyendo ahora?, ¿qué necesito soltar?, ¿qué conversación llevo meses "
            "aplazando?",
            "Para terminar, un ejercicio: busca en tu pasado un año que recuerdes como un punto "
            "de inflexión y mira qué tránsitos lentos estaban activos entonces. Esa comparación "
            "entre tu biografía y el cielo es la mejor escuela, y es la que te acompañará cuando "
            "cierres este libro.",
        )),
    ),
)

BREAD = Book(
    filename="home-bread-baking.pdf",
    title="Home Bread Baking",
    subtitle="Sourdough from a small kitchen, one loaf at a time",
    author="Sam Carter",
    language="en",
    created=dt.datetime(2024, 2, 10, 8, 30, tzinfo=dt.UTC),
    chapters=(
        Chapter("Keeping a sourdough starter", (
            "A sourdough starter is nothing more than flour and water in which wild yeasts and "
            "lactic acid bacteria have settled down to live together. You can make one from "
            "scratch in about a week: mix equal weights of whole rye or whole wheat flour and "
            "lukewarm water, cover the jar loosely, and feed it once a day by discarding most "
            "of it and adding fresh flour and water.",
            "For the first few days the mixture may bubble enthusiastically and then go quiet. "
            "That early burst comes from bacteria that do not survive the rising acidity; do "
            "not give up. By the end of the first week a healthy starter doubles within four "
            "to eight hours of a feeding and smells pleasantly sour, a little like yoghurt.",
            "Once it is established, a starter is easy to keep. If you bake every day, leave "
            "it on the counter and feed it daily. If you bake on weekends, keep it in the "
            "fridge and feed it once a week; take it out the evening before you bake and give "
            "it one or two feedings at room temperature so it is lively again.",
            "Use a clear jar with a rubber band around it to mark the level after each "
            "feeding. Watching how far and how fast it rises teaches you more about your "
            "kitchen's temperature than any thermometer.",
            "If your starter smells of nail varnish or grows a layer of grey liquid on top, it "
            "is simply hungry. Pour off the liquid, feed it twice a day for a couple of days "
            "and it will recover. A starter is much harder to kill than most beginners fear; "
            "only pink or orange streaks, or fuzzy mould, are a reason to start again.",
            "You do not need special flour. Any unbleached flour works, although a spoonful of "
            "whole rye in each feeding keeps a starter vigorous, because rye brings plenty of "
            "nutrients and its own population of microbes.",
        )),
        Chapter("Flour, water and hydration", (
            "Bakers describe a dough by its hydration: the weight of the water divided by the "
            "weight of the flour. A dough made with 1000 g of flour and 700 g of water is at "
            "70 % hydration. Expressing every ingredient as a percentage of the flour, the "
            "so-called baker's percentage, makes it easy to scale a recipe up or down.",
            "Higher hydration gives a more open crumb and a crisper crust, but the dough is "
            "stickier and harder to shape. If you are just starting, stay around 68 to 72 % "
            "with white bread flour. Whole grain flours absorb more water, so a dough with a "
            "third of whole wheat can take a few points more.",
            "Hold back about 50 g of the water when you first mix. Different bags of flour "
            "absorb water differently, and it is easy to add the rest a little at a time, but "
            "impossible to take it out again.",
            "Salt is usually 2 % of the flour weight. Add it after a rest of thirty to sixty "
            "minutes, the autolyse, during which the flour hydrates and gluten starts to form "
            "on its own.",
        )),
        Chapter("Shaping and proofing", (
            "After bulk fermentation, when the dough has grown by about half, feels airy and "
            "shows bubbles along the sides of the container, it is time to shape. Turn it out "
            "onto an unfloured counter, fold the edges toward the middle and flip it so the "
            "smooth side faces up. Let this pre-shape rest for twenty minutes.",
            "The final shape builds tension on the surface of the loaf. For a round boule, "
            "cup your hands around the dough and drag it towards you across the counter a few "
            "times; the friction tightens the skin. For a batard, fold the top third down, "
            "the sides in, and roll it up like a letter.",
            "Place the shaped loaf seam side up in a floured basket. It can proof at room "
            "temperature for one to three hours, or in the fridge overnight. A cold proof is "
            "forgiving, develops more flavour and makes the dough much easier to score.",
            "To check whether the loaf is ready, press it gently with a floured finger. If the "
            "dent springs back slowly and not completely, bake it. If it springs back at once, "
            "wait; if it does not spring back at all, bake immediately and expect a flatter "
            "loaf.",
        )),
        Chapter("Baking in a home oven", (
            "Home ovens lose steam quickly, and steam is what keeps the crust soft long enough "
            "for the loaf to expand. The simplest solution is a cast iron pot with a lid. "
            "Preheat the pot in the oven at 250 °C for forty-five minutes, turn the loaf into "
            "it, score it with a razor blade and put the lid on.",
            "Bake covered for twenty minutes, then remove the lid, lower the temperature to "
            "230 °C and bake for another twenty to twenty-five minutes until the crust is a "
            "deep brown. Pale bread is under-baked bread: the dark crust is where most of the "
            "flavour is.",
            "Let the loaf cool on a rack for at least an hour before cutting it. The crumb is "
            "still setting as the steam escapes, and a loaf cut too early is gummy however "
            "well it was made.",
        )),
        Chapter("Troubleshooting", (
            "A dense loaf with a tight crumb is usually under-fermented. Give the bulk "
            "fermentation more time, or keep the dough somewhere warmer; at 22 °C it can take "
            "twice as long as at 27 °C. Make sure the starter was at its peak when you mixed.",
            "A flat loaf that spreads in the oven is more often over-proofed or poorly shaped. "
            "Shorten the final proof, use the fridge, and concentrate on building surface "
            "tension when you shape.",
            "Large holes right under the crust with a tight crumb below, sometimes called a "
            "flying crust, point to a skin that dried out during proofing or to shaping that "
            "trapped a big air pocket. Cover the basket and degas the dough gently before the "
            "final shape.",
            "A crust that is thick and leathery rather than crisp usually means the loaf baked "
            "too long at too low a temperature. Check your oven with a separate thermometer: "
            "many home ovens run twenty degrees cooler than the dial says.",
            "Bread that tastes too sour has fermented for a long time at a cool temperature, or "
            "was made with a starter past its peak. Use the starter earlier after feeding and "
            "shorten the cold proof; for a tangier loaf, do the opposite.",
            "Finally, keep a baking notebook. Write down the flour, hydration, temperatures and "
            "times for every bake. After a dozen loaves you will know your kitchen better than "
            "any recipe can.",
        )),
    ),
)

FIELD_NOTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("3 March", "Railway embankment", (
        "First singing blackbird of the year on the television aerial above the platform, "
        "half past six in the morning. Long, unhurried phrases with pauses between them, as "
        "if it were still deciding on the tune.",
        "Two magpies carrying sticks into the plane tree by the footbridge. The old nest from "
        "last year is still there; they seem to be building on top of it.",
    )),
    ("7 March", "Canal towpath", (
        "A pair of mute swans on the wide stretch by the lock. The cob chased a Canada goose "
        "for almost fifty metres, wings raised, then came back to the pen as if nothing had "
        "happened.",
        "Grey wagtail on the lock gates, bobbing its tail constantly. Lemon yellow under the "
        "tail, not the whole underside as on a yellow wagtail. A lifer for this patch.",
    )),
    ("12 March", "Supermarket car park", (
        "Pied wagtails working the car park at dusk, at least eleven of them, picking insects "
        "off the warm tarmac under the lights. They left together towards the roof of the "
        "retail park, probably to roost on the warm air vents.",
    )),
    ("18 March", "Cemetery", (
        "Great spotted woodpecker drumming on a dead branch of the lime avenue, short bursts "
        "about every thirty seconds. A second bird answered from the far side of the wall.",
        "Nuthatch going head first down the trunk of the same lime. Goldcrests, at least "
        "three, very high in the yews; heard far more often than seen.",
    )),
    ("24 March", "High street", (
        "House sparrows chattering in the ivy on the side of the old bank. Counted fourteen "
        "going in and out. Every year this colony seems smaller, but it is still the "
        "liveliest corner of the street.",
        "A feral pigeon with almost white wings among the flock by the bus stop; the same "
        "bird as last autumn, judging by the dark patch on its neck.",
    )),
    ("30 March", "Park lake", (
        "The great crested grebes are displaying: head shaking, then both birds rising "
        "breast to breast with weed in their bills. Stood and watched for twenty minutes; "
        "nobody else on the path seemed to notice.",
        "Coots building a nest on the floating island, already arguing with the moorhens "
        "over every piece of reed.",
    )),
    ("4 April", "Allotments", (
        "Chiffchaff singing its name from the willows along the brook: the first summer "
        "migrant of the year here. Robin following the digging on plot 14, perching on the "
        "fork handle whenever the gardener stopped.",
    )),
    ("11 April", "Office roof", (
        "Peregrine on the church spire opposite, tearing at prey on the north ledge. From "
        "the roof terrace the feathers drifting down looked like pigeon. The pair has used "
        "the nest box for three seasons now.",
        "Herring gulls already standing on the flat roofs in pairs; they will be nesting "
        "between the air conditioning units again in a few weeks.",
    )),
    ("19 April", "Canal towpath", (
        "Swallows over the water by the boatyard, five of them, low and fast. Sand martins "
        "with them for a while, brown backs and a clear breast band.",
        "The swans now have a nest of reeds at the edge of the marina. The pen sits; the "
        "cob patrols.",
    )),
    ("27 April", "Railway embankment", (
        "Blackcap singing from the brambles: a rich, fluty warble that starts scratchy. "
        "Easy to confuse with a garden warbler, but this one showed its black cap clearly "
        "on the fence.",
        "Starlings carrying food into the gap under the station roof. The young will be "
        "out and shrieking within a couple of weeks.",
    )),
    ("5 May", "Park lake", (
        "Grebe chicks riding on a parent's back, three striped heads peering out from the "
        "feathers. The other adult diving and bringing up tiny fish every minute or so.",
        "Swifts back over the terraced houses this evening: the first screaming party "
        "racing along the street at roof height. Summer starts tonight.",
    )),
    ("14 May", "Cemetery", (
        "Spotted flycatcher, late and very welcome, sallying out from a low branch and "
        "returning to the same perch. Only the second record here in five years.",
        "Young blue tits calling from the nest box on the chapel wall; the parents coming "
        "in every few seconds with caterpillars.",
    )),
    ("22 May", "Home", (
        "Wrote up the spring counts: forty-one species on the patch since March, three "
        "new ones. The notebook is full of starlings and sparrows, which is exactly what a "
        "city notebook should be full of.",
        "Next spring: start earlier in the morning, and finally learn the difference "
        "between the songs of the willow warbler and the chiffchaff by ear.",
    )),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=BOOKS_DIR, help="output folder")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for path in (write_book(ASTROLOGY, out), write_book(BREAD, out), write_notes(out)):
        print(f"{path} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
