from schema.root import SDL_PATH, sdl


def test_committed_sdl_matches_the_schema() -> None:
    assert SDL_PATH.read_text() == sdl(), "schema.graphql is stale: run `make schema` and commit it"
