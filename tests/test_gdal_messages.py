"""GDAL's messages reach the block of the thread that caused them: with a scene's reader and
writer and the next scene's running at once, a warning about one file must not fail another."""

from __future__ import annotations

import logging
import threading
import warnings

from sargeo.destination import cog_options, gdal_messages, output_profile

GDAL_LOG = logging.getLogger("rasterio._env")  # where rasterio logs GDAL's warnings


def _in_thread(work) -> None:
    t = threading.Thread(target=work)
    t.start()
    t.join()


def test_each_thread_collects_its_own_messages():
    ready, logged, got = threading.Event(), threading.Event(), {}

    def writer():
        with gdal_messages() as messages:
            ready.set()
            logged.wait(10)
            GDAL_LOG.warning("TIFFWrite: no space left")
        got["writer"] = messages

    t = threading.Thread(target=writer)
    t.start()
    ready.wait(10)
    with gdal_messages() as reader_messages:
        GDAL_LOG.warning("TIFFReadDirectory: unknown tag")
        logged.set()
        t.join()
    assert reader_messages == ["TIFFReadDirectory: unknown tag"]
    assert got["writer"] == ["TIFFWrite: no space left"]


def test_messages_of_threads_without_a_block_go_to_every_open_block():
    """GDAL's own worker threads (multi-threaded compression) have no block: their complaints could
    concern any open file, so none may miss them."""
    with gdal_messages() as outer:
        _in_thread(lambda: GDAL_LOG.warning("compression worker failed"))
    assert outer == ["compression worker failed"]


def test_nested_blocks_and_the_logger_left_as_found():
    with gdal_messages() as outer:
        with gdal_messages() as inner:
            GDAL_LOG.warning("inner")
        GDAL_LOG.warning("outer")
    assert inner == ["inner"] and outer == ["outer"]
    assert GDAL_LOG.propagate and not GDAL_LOG.handlers


def test_checking_creation_options_warns_about_nothing():
    """The probe file is georeferenced: rasterio's NotGeoreferencedWarning would need a process-wide
    filter, which is not thread-safe while another scene is being finished."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        output_profile(300, 200, {"COMPRESS": "LZW"}, {})
        cog_options({})
