"""`digitize review`: a person checks the fields a scan flagged, in a local web page or from a
spreadsheet, and every confirmed field becomes labelled digits for retraining.

    session.review(options)  the flow, as a library function (the CLI calls it)
    entries.csv -> store (which fields, in what order, decisions saved back into the CSV)
               -> server (page + JSON API) with crops (saved, or re-read from the source page)
               -> export (labelled 28x28 digits for `digitize retrain --extra-digits`)
"""
