/**
 * What Mend promises about where a space's content lives, said in the same words wherever it is
 * said: two pages that told it differently made people wonder which was true.
 */
export const whereDataLives =
  'Your space is kept on your two devices, and on this Mend server locked with keys only your devices hold: nobody else can read it, not even whoever runs the server.';
