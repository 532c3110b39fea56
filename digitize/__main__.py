from digitize.cli import app

app(prog_name="digitize")
