"""Every threshold of the segmentation, named and explained, in one frozen dataclass.

    SegmentationParams
        .cleanup    CleanupParams    lighting, binarization, deskew (digitize.cleanup)
        .fields     FieldParams      ruling, boxes, reading order (digitize.fields)
        .combs      CombParams       what a comb is, and its repair (digitize.comb_repair)
        .digits     DigitParams      specks, fragments, touching digits (digitize.digits)
        .normalize  NormalizeParams  stroke width of a normalized digit (digitize.normalize)
        .ink        InkParams        marks left over, faint ink (digitize.field_ink)
        .checkbox   CheckboxParams   whether a checkbox is marked (digitize.checkbox)

The defaults are what the tool ships with; a benchmark sweeps one with `dataclasses.replace`:

    params = SegmentationParams()
    wider = replace(params, digits=replace(params.digits, wide=1.3))

Sizes ending in `_in` are inches, converted with the page's DPI; `_px` are pixels; the rest
are fractions of the size their comment names. What stays a constant in its module is format
(MNIST's 28x28 and 20x20 in `digitize.normalize`) or the shape of an algorithm, not a
threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CleanupParams:
    # The page's size is the last resort for its DPI: its shorter side taken as this many
    # inches (letter; A4 is 8.27). Wrong for cheques, receipts, A5 and folio forms.
    assumed_short_side_in: float = 8.5
    # The paper's brightness is estimated by closing with a square this wide (removing dark
    # ink thinner than ~0.1 inch), then blurring with this sigma.
    paper_close_in: float = 0.12
    paper_blur_in: float = 0.1
    # On a near-blank page Otsu splits paper noise; on faint pencil it can sit too low.
    otsu_min: int = 150
    otsu_max: int = 215
    lightest_ink: int = 235  # no grey lighter than this is ink, however faint the threshold
    faint_margin: int = 25  # grey levels above the ink threshold that count where they touch ink
    # Print this light or darker still rules boxes: drop-out light blue (120, 180, 235) is
    # grey 169, thinner than a pixel lighter still; flattened paper stays above 235.
    lightest_print: int = 215
    max_skew_degrees: float = 5.0  # the largest rotation looked for, either way
    # The skew is searched at ~75 DPI: a tenth of a degree is still resolved, in a few
    # hundredths of a second; coarse steps over the whole range, then fine ones around the best.
    skew_dpi: float = 75.0
    skew_coarse_step: float = 0.25  # degrees
    skew_fine_step: float = 0.05  # degrees
    min_skew_degrees: float = 0.1  # below the search's resolution: the page is left as it is


@dataclass(frozen=True)
class FieldParams:
    # Smaller holes are letters' counters, the loops of ticks, noise. At 0.09 for every
    # hole (to take 3 mm checkboxes) the NIST form and the bundled samples gained spurious
    # fields...
    min_cell_side_in: float = 0.15
    # ...so a smaller hole is taken only as a checkbox standing alone (fields._small_checkboxes),
    # down to a 3 mm box's hole: its 0.3 mm rules thickened by the ruling's pixel either side
    # at 150 DPI. The zoo's 4-5 mm checkboxes: dev seeds 101-112 missed 56 of 175 before.
    min_checkbox_side_in: float = 0.09
    # ...whose ruling is its own frame alone, reaching at most this far out from its hole: a
    # 0.5 mm rule thickened by the ruling's pixel either side, with a pixel to spare at 150 DPI.
    checkbox_frame_in: float = 0.04
    # A lone box no larger than this inside, and about square, is a checkbox (3-6 mm boxes;
    # a one-digit box is larger).
    checkbox_max_side_in: float = 0.22
    checkbox_max_aspect: float = 1.3
    # Number fields are one line; taller frames hold text or photos.
    max_field_height_in: float = 1.2
    min_ruling_in: float = 0.12  # strokes at least this long and straight count as ruling
    # Strokes at least this thick (0.9 mm; print's rules are 0.1-0.5 mm, the zoo's thick
    # border 0.8 mm, a marker 1-1.5 mm) are a pen's, not ruling, unless this long at least
    # (a border; a marker's digit is 5-8 mm tall). At 0.7 mm (4 px at 150 DPI) ballpoint and
    # bold print held the disk too: the election sheet lost 20 of 37 fields.
    # A long straight rule this light still rules boxes, where its grey averaged along a
    # rule's length is this light too (paper noise averages out; a line does not): a double
    # light-blue box blurred at 150 DPI is a band of grey 221-226 (zoo dev seeds 105 and 106:
    # 13 boxes missed). Nothing that light is bridged: all print at 232 found rules in paper
    # noise (zoo dev 85.6 -> 82.5 %, dashed boxes 76.7 -> 57.5 %).
    lightest_rule: int = 232
    # Print ink is noisy, and the ruling is read in the dark ink alone as well, when it holds
    # this many times the dark ink's pixels: the bundled samples and real pages hold 1.09-1.49,
    # the grey and cream zoo pages whose dashed boxes the noise filled 1.89-4.07. The reading
    # costs ~0.1 s a page at 300 DPI, so it is not made on every page.
    noisy_print_ratio: float = 1.7
    thick_stroke_in: float = 0.035
    thick_rule_min_in: float = 0.5
    # ...and spread at least this much (of the stroke's width) both ways: a rule's core, or
    # two rules' crossing, is at most about as wide across as the rule is thick.
    thick_stroke_spread: float = 2.0
    min_ruling_px: int = 8  # ... and at least this many pixels, on a low-resolution page
    # A printed line one or two pixels thin wanders by a pixel in the scan: straight strokes
    # are looked for in the ink thickened across them by this kernel (a pixel either side).
    ruling_thicken_px: int = 3
    # Closing bridges the small gaps of a worn or noisy border, so its hole is closed.
    ruling_bridge_px: int = 5
    # Dashed, dotted and worn rules (digitize.ruling): gaps up to this long are bridged
    # (dashed rules leave ~1 mm, worn print up to 1.5 mm), and the bridged line is a rule
    # only where it is at most this thick (a 0.35 mm dot; bridged letters are thicker).
    dash_gap_in: float = 0.07
    max_dashed_rule_in: float = 0.025
    # Ink this close to the ruling and touching it is ruling: a rounded corner's arc (a 2 mm
    # radius reaches 0.71 of it, 1.4 mm, out from where its straight rules end).
    corner_reach_in: float = 0.06
    # A hole of the tolerant ruling sharing more than this (of the smaller's area) with a hole
    # of the solid ruling is the same box, or a piece of it: the solid one stands.
    tolerant_overlap: float = 0.2
    # A tolerant ruling ruling more than this share of the page is specks bridged into a
    # filled page, no lines (zoo dev pages on noisy paper: 34-50 %; clean ones 1-2.5 %).
    filled_ruling_share: float = 0.15
    # A box's hole fills its bounding rectangle; the gap between two letters does not.
    hole_fill: float = 0.85  # of the hole's bounding rectangle
    # ... or, dented by a digit written onto its border, its hull fills this much of it and
    # the hole itself this much.
    dented_hull_fill: float = 0.93
    dented_fill: float = 0.55
    shared_border_in: float = 0.06  # the interiors either side of one border are this close
    # A double border's two rules are at most this far apart (printed forms: 0.5-2.5 mm),
    # the same all round within `checkbox_frame_in` (fields._double_borders).
    double_border_gap_in: float = 0.1
    # Open boxes (digitize.open_boxes): a box whose border does not close is found by two
    # horizontal rules at least this long (a 3-digit box is ~0.7 in wide), of one extent
    # (ends within this of each other), with pieces up to this far apart joined (a worn
    # rule's gaps, a dashed rule where a marker's digits crossed it), each rule at most this
    # thick, and print within this of both ends over this share of the band's height (what
    # is left of its sides; a rule under a line of text has none).
    open_box_min_width_in: float = 0.6
    open_box_same_extent_in: float = 0.08
    # A rule's end is taken on under ink for at most this far (a marker digit over a box's
    # corner: 26 px at 200 DPI, 0.13 in, on held-out 9050-04), not along a printed bar.
    open_box_under_ink_in: float = 0.2
    open_box_gap_in: float = 0.3
    open_box_max_rule_in: float = 0.06
    open_box_rule_cover: float = 0.6  # of its length, the pieces of a rule cover this much
    open_box_side_in: float = 0.04
    open_box_side_share: float = 0.15
    # A rule left as dashes at an even pitch (open_boxes._periodic_dash_rules): this many at
    # least one pitch apart, within this share of the pitch (the median step), and this
    # share of all steps (a skewed rule's dashes recur within 1-2 px of 38; the paper's
    # grain, joined into a line, steps 3-60 px: 5 boxes of it on dev seeds 102-107 with 0.25).
    open_box_min_dashes: int = 5
    open_box_dash_pitch_spread: float = 0.1
    open_box_regular_share: float = 0.6
    # A deskewed rule's dashes have their centres within this of the next one's: a rule is
    # the dashes chained so, row after row (a double rule's other rule is 3-6 px away).
    open_box_dash_drift_px: float = 1.5
    # The printed border around an interior: about one border width outside it.
    border_in: float = 0.01
    min_border_px: int = 2
    # Boxes whose centres are within this much of a box height of each other vertically
    # are one row of the reading order.
    same_row: float = 0.5


@dataclass(frozen=True)
class CombParams:
    max_cell_aspect: float = 1.5  # a one-digit cell is at most this much wider than tall
    # Cells side by side that are each this close to a whole number of pitches are a comb
    # whose dividers were lost (zoo dev seed 109: 4.03, 3.10 and 1.04 pitches).
    lost_divider_tolerance: float = 0.15
    lost_divider_cells: int = 6  # ... and each at most this many (a table's label is 12 or so)
    # A comb of separate boxes: one-digit cells whose widths differ by at most this ratio,
    # with at most this much (of a cell's width) between one's interior and the next's
    # (separate boxes 1-2.5 mm apart, 5-7 mm cells: up to ~0.6; boxes of a form's separate fields
    # stand further apart, or differ in size).
    separated_size_ratio: float = 1.25
    separated_gap: float = 0.75
    # Tick combs (digitize.comb_ticks): a tick rises unbroken from the rule between these
    # shares of the box's inner height (full dividers are ruling already; the zoo's ticks
    # rise 0.3, real forms' 0.2-0.5) and is at most this wide (a 0.3 mm rule, doubled by blur).
    tick_min_rise: float = 0.12
    tick_max_rise: float = 0.65
    tick_max_width_in: float = 0.03
    # Cells are at least this wide (of the height): the most cells a box is tried with.
    min_tick_cells_aspect: float = 0.4
    # A tick stands within this much (of the pitch) of an even cut; at least this share of the
    # cuts have one, and at most this many ticks stand elsewhere (a 1 on the rule).
    tick_tolerance: float = 0.12
    tick_found_share: float = 0.8
    tick_stray: int = 1
    # Comb runs on one line are joined across cells that did not close (a digit written over
    # a divider, a faint rule broken in the scan) when their tops and bottoms are this close,
    line_tolerance_in: float = 0.06
    # ... when together they are at least this many cells (two cells alone are no comb yet),
    min_joined_cells: int = 3
    # ... and when the stretch between them is about one cell (this range, of the pitch) or
    # ruled above and below all along.
    missing_cell_min: float = 0.5
    missing_cell_max: float = 1.5
    # ... and, for about one cell, with a rule above or below it over this share of the
    # stretch (a lost box's rules, or what the scan left of them, about half of a stretch
    # that holds a box and its gaps on zoo dev seed 103; between two combs: none).
    missing_cell_ruled: float = 0.25
    # Rules are looked for this close above and below a cell's line: a hole's box includes
    # its border's inner edge.
    rule_band_in: float = 0.03
    min_rule_band_px: int = 2
    ruling_gap_in: float = 0.12  # gaps this short in a printed rule are the scan's, not the form's
    # A comb's rules end at an end border: a vertical rule covering this much of the cell's
    # height, within this many pixels of where the rules stop.
    end_border_cover: float = 0.8
    end_border_px: int = 2
    # Tables (a printed label cell, then one-digit cells): a cell wider than this many of its
    # row's cells is a label, never cut into digit cells (the election sheets' labels are 10
    # to 12 cells wide; a hole over a faint divider spans 2 or 3).
    label_cells: float = 4.0
    # A row of cells above a comb whose edges fall on the comb's dividers, within this much of
    # a cell (at least block_tolerance_px), groups the comb's cells into numbers (a table's
    # column headers over its blocks of one-digit cells).
    block_tolerance: float = 0.25
    block_tolerance_px: int = 3
    # Headers and comb are one table when a border at the comb's first or last edge runs
    # over this share of the rows between them (the election sheet hal1's: 100 %; two boxes
    # above a zoo date comb: 0 %).
    column_rule_cover: float = 0.8


@dataclass(frozen=True)
class DigitParams:
    border_margin_in: float = 0.01  # ink this close to the border is the border's own raggedness
    speck_area: float = 0.0015  # of the field's height squared
    # A component this many pixels thin (or thinner) is print (a doubled divider), not a pen.
    print_line_px: int = 1
    # Of the field's typical digit height: anything smaller alone is a speck.
    min_digit_height: float = 0.35
    # Of the box's inner height: nobody writes a digit smaller than this...
    min_digit_of_box: float = 0.2
    # ...unless it is at least this much of the comb's other digits' height: on an election
    # sheet at 75 DPI a 1 was 8 px in a 52 px cell (0.15 of it), 0.57 of the 8 and 6 beside it.
    small_digit: float = 0.5
    # A piece shorter than this (of the typical height) is part of a digit.
    fragment_height: float = 0.6
    # A printed prefix or unit in a box (`€`, `+44`, `kg`): marks all shorter than this (of
    # the typical digit height; the zoo prints them at 0.5 of the box, handwriting fills
    # 0.6-0.8 of it) at least this far (ditto) left or right of the handwriting.
    affix_height: float = 0.75
    affix_gap: float = 0.4
    # ... or print of several marks at least this far (of the typical digit height) and this
    # many times as far as its marks stand from each other (`digits._set_apart`). Handwriting
    # whose first digit is short stood 0.2-0.33 from the next (zoo dev seeds, one-mark runs).
    affix_tight_gap: float = 0.2
    affix_gap_ratio: float = 2.0
    # In a box at least this many times as wide as it is tall, marks all within this share of
    # its width from one end and all shorter than this (of its inner height) may be print
    # alone: flagged, since handwriting can be as small.
    affix_box_aspect: float = 3.0
    affix_zone: float = 0.25
    affix_of_box: float = 0.6
    wide: float = 1.15  # wider than this times the typical digit height: maybe touching digits
    close_gap: float = 0.2  # of the typical digit height: strokes nearer than this may be one digit
    # Of the typical digit height: a stroke this narrow is a 1 or a piece of a digit.
    thin: float = 0.35
    # Typical width / height of one handwritten digit, to count touching ones.
    digit_aspect: float = 0.7
    # Touching digits are cut at the thinnest column within a digit's width divided by this
    # (a third) either side of where even spacing would cut.
    cut_window: float = 3.0
    # Of the typical height: neighbours overlapping in x and together this narrow are one digit
    # (as one option: `digits._alternatives` keeps both readings).
    one_digit_width: float = 1.1
    # Of the narrower one's width: neighbours overlapping this much in x are one digit (ditto).
    stacked: float = 0.5
    # A thin stroke with less ink than this (of its neighbour's) is not a digit...
    stray_ink: float = 0.5
    # ...when it is also shorter than this: a stray mark or a pen's double line.
    stray_height: float = 0.9


@dataclass(frozen=True)
class NormalizeParams:
    # MNIST strokes are about 2.5 px wide in the 20 px box: ~12 % of the digit's height.
    stroke_of_height: float = 0.12
    # A stroke narrower than this (of MNIST's width) is thickened, one wider than this thinned.
    thicken_below: float = 0.6
    thin_above: float = 1.8
    # The digit's own darkest ink (this percentile of its pixels) is full ink: one dark
    # speck does not make the rest of the stroke look faint.
    darkest_percentile: float = 10


@dataclass(frozen=True)
class InkParams:
    """What counts as a mark in a field's box, measured against the box's own paper, not the
    page's threshold (digitize.field_ink): faint pencil the page's threshold missed, and ink
    the digits did not take up."""

    # A pixel this many grey levels darker than the box's median (its paper) is a mark. At
    # 12, none of the 188 bundled sample fields has a mark outside its digits, while pencil
    # 40 levels above the page's threshold is found.
    min_contrast: int = 12
    # A mark is at least this tall or wide (of the box's inner height) and this large in area
    # (of that height squared): dust and a border's raggedness are smaller.
    min_size_of_box: float = 0.25
    min_area: float = 0.004
    # A mark is left over when at least this share of it lies outside every digit candidate
    # grown by `cover_grow_in` (the light halo around a stroke belongs to the stroke).
    left_over_share: float = 0.5
    cover_grow_in: float = 0.02
    # The field's own threshold, between its paper and its ink, is trusted when the two are
    # `min_contrast` apart and this many times the paper's grain (its noise's standard
    # deviation), and the ink is at most this share of the box.
    local_min_grains: float = 4.0
    local_max_ink_share: float = 0.4
    # Marks left over that are fainter than this (grey levels) are reported as faint ink.
    faint_contrast: int = 20
    # Ink read by the box's own threshold must be at least this share as dark as the page's
    # handwriting read at the page's threshold (when `min_reference_fields` fields were read
    # so): an election sheet's grey watermark was 0.2 of its ballpoint, and read as 188 and 888
    # in empty boxes; pencil beside a pen is about half as dark.
    of_handwriting: float = 0.35
    min_reference_fields: int = 3


@dataclass(frozen=True)
class CheckboxParams:
    """Whether a checkbox is marked (digitize.checkbox), by the share of its interior that is
    ink: a tick or cross of a 0.4 mm pen in a 4 mm box covers ~8 %, a speck of dust < 1 %."""

    marked_share: float = 0.04  # at least this much ink: ticked or crossed, "1"
    empty_share: float = 0.012  # at most this much: empty, "0"; in between, flagged


@dataclass(frozen=True)
class UnboxedParams:
    """Handwriting outside every box found (`digitize.unboxed_ink`)."""

    # Ink this close to a field (inches) is the field's: a digit written over its border.
    field_clearance_in: float = 0.08
    # A line of marks is handwriting when one of them stands this tall (inches): 3 mm, above
    # the zoo's labels (their tallest letters 2.2 mm) and below the digits written in its
    # smallest comb cells (about 3.5 mm); taller than 15 mm is a drawing or a signature.
    min_height_in: float = 0.12
    max_height_in: float = 0.6
    min_mark_in: float = 0.01  # smaller marks are dust
    # Marks lighter than the page's threshold count from this long (inches, 1.5 mm): a piece
    # of a pencil stroke. Of the 73,000 light specks on a zoo page of noisy grey paper
    # (samples/zoo.py --seed 7, dashed boxes, 150 dpi) 11 reach it; 152 of the 164 light
    # marks of zoo page 9058-05 (pencil) do.
    light_mark_in: float = 0.06
    # A mark with this share of its pixels on the ruling is a straight stroke: alone, print.
    ruled_share: float = 0.8
    # Marks are one line when they overlap this much in height (of the shorter) and stand at
    # most this far apart (of the taller's height): digits in a box 1-2 mm apart, the boxes
    # of a form's column 10 mm and more.
    line_overlap: float = 0.3
    line_gap: float = 1.0
    # Lines this close one under the other (of the taller's height), overlapping across by
    # this share of the narrower, are a paragraph of text, not numbers.
    paragraph_gap: float = 1.0
    paragraph_overlap: float = 0.5
    # The field is the line's marks with this margin (of their height) around them.
    margin_of_height: float = 0.25


@dataclass(frozen=True)
class SegmentationParams:
    cleanup: CleanupParams = field(default_factory=CleanupParams)
    fields: FieldParams = field(default_factory=FieldParams)
    combs: CombParams = field(default_factory=CombParams)
    digits: DigitParams = field(default_factory=DigitParams)
    normalize: NormalizeParams = field(default_factory=NormalizeParams)
    ink: InkParams = field(default_factory=InkParams)
    checkbox: CheckboxParams = field(default_factory=CheckboxParams)
    unboxed: UnboxedParams = field(default_factory=UnboxedParams)
