from agent.cli import main

main(prog_name="bridgework")
