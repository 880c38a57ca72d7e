import { IsString, MaxLength, MinLength } from 'class-validator';

/** The one body of the console's routes: an API key pasted into the demo's login form. */
export class ApiKeyLoginDto {
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  apiKey!: string;
}
